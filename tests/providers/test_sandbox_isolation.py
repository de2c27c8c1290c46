"""The server never loads `providers.sandbox`: the fakes and the demo are for the tests and
`switchboard demo` (whose command imports the demo inside itself) only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_PACKAGES = ("models", "providers", "resolvers", "schema", "subscriptions")
SERVER_MODULES = ("app", "cli", "settings")

# Run in a fresh interpreter: this test session has long imported the sandbox itself.
LOADED = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after_importing(*names: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", LOADED, json.dumps(names)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def sandbox_modules(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name == "providers.sandbox" or name.startswith("providers.sandbox.")]


def server_modules() -> list[str]:
    """Every module of the server's packages but the sandbox, so one the app does not import yet counts too."""
    names = list(SERVER_MODULES)
    for package in SERVER_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[:2] != ("providers", "sandbox"):
                names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_importing_the_app_loads_no_sandbox_module() -> None:
    loaded = loaded_after_importing("app")

    assert "providers.runtime" in loaded  # the providers the server does use are there
    assert sandbox_modules(loaded) == []


def test_no_module_of_the_server_imports_the_sandbox() -> None:
    names = server_modules()
    assert {"cli", "providers.twilio", "schema.view", "models.makemigrations"} <= set(names)

    loaded = loaded_after_importing(*names)

    assert sandbox_modules(loaded) == []
