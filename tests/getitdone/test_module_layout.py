"""The delivery package stays readable: no import circle hidden inside a function, and no module
a newcomer cannot read in one sitting."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("webhooks", "commands")


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_is_hidden_inside_a_function(package):
    hidden = []
    for path in _modules(package):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                hidden += [
                    f"{path.relative_to(ROOT)}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert hidden == []


def test_every_delivery_module_is_short():
    lengths = {p.name: len(p.read_text().splitlines()) for p in (ROOT / "webhooks" / "delivery").glob("*.py")}
    assert {"claim.py", "drain.py", "outcomes.py", "health.py", "sweep.py", "sql.py", "stores.py"} <= set(lengths)
    assert {name: n for name, n in lengths.items() if n > 400} == {}
