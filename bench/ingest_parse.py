"""The cost of reading a webhook at ingest (`read_event`: JSON, depth, schemas, checks), this
checkout against another one, alternately in separate processes, so both see the same
machine. Prints microseconds per body (best of 5) and the ratio new/other per round.

    git worktree add /tmp/base <commit>
    .venv/bin/python bench/ingest_parse.py /tmp/base [rounds]
"""
import json
import subprocess
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(root):
    sys.path.insert(0, str(root))
    from loyalty.webhooks.events import read_event
    from rules import load_programme
    from tests import webhooks
    programme = load_programme(str(root / "rules" / "default_programme.toml"))
    line = {"sku": "B-1", "category": "books", "quantity": 1, "amount": webhooks.money(12999)}
    bodies = {"shop": json.dumps(webhooks.purchase(customer="c-1", order="o-1", lines=[line])),
              "stripe": json.dumps(webhooks.stripe_event("checkout.session.completed", webhooks.paid_session()))}
    return {source: min(timeit.repeat(lambda: read_event(source, body, programme), number=20_000, repeat=5))
            / 20_000 * 1e6 for source, body in bodies.items()}


def run_in(root):
    out = subprocess.run([sys.executable, __file__, "--measure", str(root)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    if sys.argv[1] == "--measure":
        print(json.dumps(measure(Path(sys.argv[2]).resolve())))
        return
    other, rounds = Path(sys.argv[1]).resolve(), int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for number in range(1, rounds + 1):
        before, after = run_in(other), run_in(ROOT)
        print(f"round {number}: " + ", ".join(
            f"{source} {before[source]:.1f} -> {after[source]:.1f} us ({after[source] / before[source]:.2f}x)"
            for source in before))


if __name__ == "__main__":
    main()
