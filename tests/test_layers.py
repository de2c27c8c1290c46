"""The layers of docs/DESIGN.md (architecture), as import-linter contracts in pyproject.toml:
`schema` and `providers` over `resolvers` over `subscriptions` over `models`, and nothing the
server runs imports `providers.sandbox`. `make lint` runs the same check."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[1]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
PACKAGES = ("schema", "resolvers", "models", "providers", "subscriptions")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_code_keeps_its_layers() -> None:
    checked = _lint_imports(ROOT)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert ", 0 broken" in checked.stdout


def test_a_model_importing_a_resolver_breaks_the_layers(tmp_path: Path) -> None:
    # given the project's contracts over a tree where models/ imports resolvers/
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    named = {
        module
        for contract in contracts
        for key in ("source_modules", "forbidden_modules")
        for module in contract.get(key, ())
    }
    for module in (*PACKAGES, *named, "resolvers.rules"):
        path = tmp_path.joinpath(*module.split("."))
        if module in PACKAGES or module == "providers.sandbox":
            path.mkdir(parents=True, exist_ok=True)
            (path / "__init__.py").write_text("")
        else:
            path.with_suffix(".py").write_text("")
    (tmp_path / "models" / "rows.py").write_text("import resolvers.rules\n")

    # when the layers are checked
    checked = _lint_imports(tmp_path)

    # then the contract is broken, naming the import
    assert checked.returncode != 0
    assert "models.rows -> resolvers.rules" in checked.stdout
