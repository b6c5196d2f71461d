"""Bringing a shop's customers and order history in (`loyalty import`, loyalty/imports/command.py):
files read as streams, rows checked, orders recorded and applied through the one write path."""
