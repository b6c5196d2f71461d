"""rules/ is the functional core: it imports the standard library and itself, nothing else."""
import ast
import sys
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"


def imported_top_level_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_rules_imports_only_the_standard_library():
    files = sorted(RULES.glob("**/*.py"))
    assert len(files) >= 5
    outside = {(f.name, module) for f in files for module in imported_top_level_modules(f)
               if module != "rules" and module not in sys.stdlib_module_names}
    assert outside == set()


def test_rules_reads_no_clock():
    for path in RULES.glob("**/*.py"):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now", "date.today", "time.time", "utcnow", "datetime.today"):
            assert call not in text, f"{path.name} reads the clock ({call})"


def test_the_checker_would_catch_a_third_party_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom sqlalchemy import select\nimport json\n")
    assert set(imported_top_level_modules(bad)) - set(sys.stdlib_module_names) == {"flask", "sqlalchemy"}
