"""The layering rule: ledger/, fx/ and compliance/ never import the web layer; sqldirect/ imports
none of the others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("litestar", "backend", "mobile_api", "uvicorn")


@pytest.mark.parametrize(
    ("library", "forbidden"),
    [
        ("ledger", FORBIDDEN),
        ("fx", FORBIDDEN),
        ("compliance", FORBIDDEN),
        # The statement runner sits under everything else.
        ("sqldirect", (*FORBIDDEN, "ledger", "fx", "compliance")),
    ],
)
def test_libraries_do_not_import_the_web_layer(library: str, forbidden: tuple[str, ...]) -> None:
    offenders = []
    for path in sorted((ROOT / library).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                for name in names
                if name.split(".")[0] in forbidden
            ]
    assert offenders == []


def test_every_module_opens_with_a_docstring() -> None:
    missing = []
    for folder in ("sqldirect", "backend", "ledger", "fx", "compliance", "mobile_api"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "versions" in path.parts or (path.name == "__init__.py" and not path.read_text().strip()):
                continue
            if ast.get_docstring(ast.parse(path.read_text())) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []
