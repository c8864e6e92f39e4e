"""The package layout the README's "How it is built" describes, checked from the code itself.

One import root (`relevo`) over the project's folders, and the direction of imports between its
parts: connectors and rules never import Prefect (they are plain code, tested on their own), and
nothing imports the folders' bare names (`flows`, `connectors`, `schemas`), which would load a second
copy of a module beside the installed one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = [
    *sorted((ROOT / "flows").rglob("*.py")),
    *sorted((ROOT / "connectors").rglob("*.py")),
    *sorted((ROOT / "schemas").rglob("*.py")),
]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-local imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path", [*CODE, *sorted((ROOT / "tests").rglob("*.py"))], ids=lambda p: str(p.relative_to(ROOT))
)
def test_nothing_imports_the_bare_folder_names(path):
    bare = {m for m in imported_modules(path) if m.split(".")[0] in {"flows", "connectors", "schemas"}}
    assert not bare, f"{path.relative_to(ROOT)} imports {sorted(bare)}: use relevo.*"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tests").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_no_test_module_imports_another(path):
    """What tests share lives in conftest.py or tests/support/: importing a test module runs its fixtures'
    definitions twice and ties one file's tests to another's helpers."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    tests = {m for m in found if m.startswith("tests.") and m.split(".")[-1].startswith("test_")}
    assert not tests, f"{path.relative_to(ROOT)} imports {sorted(tests)}: move what it needs to tests/support"


@pytest.mark.parametrize(
    "path",
    [*sorted((ROOT / "connectors").rglob("*.py")), *sorted((ROOT / "flows" / "rules").rglob("*.py"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_connectors_and_rules_import_no_prefect(path):
    prefect = {m for m in imported_modules(path) if m.split(".")[0] == "prefect"}
    assert not prefect, f"{path.relative_to(ROOT)} imports {sorted(prefect)}"


@pytest.mark.parametrize("path", sorted((ROOT / "connectors").rglob("*.py")), ids=lambda p: p.name)
def test_connectors_depend_only_on_the_model_and_each_other(path):
    """Connectors sit below everything else: they may not reach into flows, storage or configuration."""
    inward = {
        m
        for m in imported_modules(path)
        if m.startswith("relevo.")
        and not m.startswith(("relevo.connectors", "relevo.schemas", "relevo.model"))
    }
    assert not inward, f"{path.relative_to(ROOT)} imports {sorted(inward)}"


def test_the_wheel_installs_one_import_root(tmp_path):
    """A user's site-packages gets `relevo` and nothing generic (no `flows`, `connectors`, `schemas`)."""
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    if build.returncode != 0 and "No module named" in build.stderr:
        pytest.skip(f"cannot build a wheel here: {build.stderr.strip().splitlines()[-1]}")
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("relevo-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    roots = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert roots == {"relevo"}
    assert "relevo/rules/templates/client_notice.es.txt.j2" in names
    assert "relevo/schemas/registry.schema.json" in names
    assert "relevo/connectors/bamboohr.py" in names
