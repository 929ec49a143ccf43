"""Compiles the translation catalogues (.po → .mo) when the package is built or installed.

Everything else about the package is in pyproject.toml. ``.mo`` files are build products, not
in git; compiling them here (with polib, a build requirement, so no gettext binary is needed)
means a running site never writes into its own package directory. An editable install
(``pip install -e .``, what ``make setup`` does) compiles them next to their ``.po`` files.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _compile_catalogues() -> None:
    # Loaded by path: the build environment has no Django, and importing the package is not needed.
    spec = importlib.util.spec_from_file_location("_wangge_i18n", ROOT / "wangge" / "core" / "i18n.py")
    assert spec and spec.loader
    i18n = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(i18n)
    i18n.compile_catalogues(i18n.find_locale_dirs(ROOT / "wangge"))


class BuildPy(build_py):
    def run(self) -> None:
        _compile_catalogues()  # before the package data (which includes the .mo) is copied
        super().run()


setup(cmdclass={"build_py": BuildPy})
