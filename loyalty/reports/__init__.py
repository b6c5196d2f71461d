"""Reports finance can book, straight from the ledger (api.md, "Reports"): `accounting`
(points movements by period, reconciling to every balance) and `liability` (points owed,
valued, with expected breakage). The rules behind each number are rules/accounting.py;
these modules read the sums and the periods."""
