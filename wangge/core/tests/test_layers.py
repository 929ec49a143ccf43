"""The apps keep their layers: core at the bottom, then accounts, areas, registry, the features,
and web and the demo on top. The contract is ``[tool.importlinter]`` in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_it_lets_no_app_import_an_app_above_it() -> None:
    # Reads the source tree, so a new upward import anywhere (even inside a function) fails here;
    # the report names the offending line.
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0
