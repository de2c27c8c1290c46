"""Tests mirror the source folders: `tests/<folder>/` holds the tests of the code in `<folder>/`
(`tests/providers/sandbox/` of `providers/sandbox/`), so the tests of a module are found by its path.
Two test folders are named after what they test rather than after a folder: `tests/cli/` runs the
command of `cli.py`; `tests/web/` drives, in a browser, the pages `schema/` serves (the inbox app
of `schema/web/`, GraphiQL of `schema/graphiql/`). Tests of `app.py` and `settings.py`, and of the
repository as a whole, sit at the top of `tests/`."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[1]
TESTS = ROOT / "tests"
MIRRORS = {Path("cli"): ROOT / "cli.py", Path("web"): ROOT / "schema"}


def _test_folders() -> list[Path]:
    """Every folder under tests/ holding Python, relative to tests/ (a folder of data files alone is none)."""
    return sorted(
        folder.relative_to(TESTS)
        for folder in TESTS.rglob("*")
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
    )


def _mirrored(folder: Path) -> Path | None:
    """The source a test folder mirrors, or None where it mirrors nothing."""
    top = Path(folder.parts[0])
    if top in MIRRORS:
        source = MIRRORS[top].joinpath(*folder.parts[1:])
        return source if source.exists() else None
    source = ROOT / folder
    return source if source.is_dir() and any(source.glob("*.py")) else None


def test_every_test_folder_mirrors_a_source_folder() -> None:
    strays = [f"tests/{folder}/" for folder in _test_folders() if _mirrored(folder) is None]
    assert not strays, (
        f"{', '.join(strays)} mirror no source folder: put each test under tests/<folder>/ of the code it "
        "tests (tests of app.py and settings.py at the top of tests/)"
    )


def test_every_test_folder_is_a_package() -> None:
    """Without __init__.py, two test files of one name in two folders collide on import."""
    missing = [
        f"tests/{folder}/__init__.py" for folder in _test_folders() if not (TESTS / folder / "__init__.py").exists()
    ]
    assert not missing, f"missing: {', '.join(missing)}"
