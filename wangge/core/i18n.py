"""Compiling translation catalogues (.po → .mo) in pure Python, so no gettext binary is needed.

``.mo`` files are build products and not in git. They are compiled when the package is built
or installed (``setup.py`` runs ``compile_catalogues`` from its ``build_py`` step; ``make
setup`` installs the package), never by a running site, which may not write into its own
package directory. After a ``git pull`` that changed a ``.po``, install again (``make setup``)
or run ``python -m wangge.core.i18n``; the test suite compiles stale catalogues itself.

This module imports only the standard library at load time (polib when it compiles), so the
build can load it without Django.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def find_locale_dirs(package: Path) -> list[Path]:
    """Every ``locale`` directory in the package (the project's, and any app's)."""
    return sorted(path for path in package.rglob("locale") if path.is_dir())


def stale_catalogues(locale_dirs: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(po, mo) pairs whose .mo is missing or older than the .po."""
    pairs = []
    for locale_dir in locale_dirs:
        for po in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
            mo = po.with_suffix(".mo")
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                pairs.append((po, mo))
    return pairs


def compile_catalogues(locale_dirs: Iterable[Path] | None = None) -> list[Path]:
    """Compile every stale catalogue; returns the .mo files written.

    A directory that cannot be written is logged, not raised.
    """
    if locale_dirs is None:
        locale_dirs = find_locale_dirs(Path(__file__).resolve().parents[1])
    stale = stale_catalogues(locale_dirs)
    if not stale:
        return []
    import polib  # a build requirement, and a test one; not needed to run the site

    written = []
    for po_path, mo_path in stale:
        try:
            catalogue = polib.pofile(str(po_path))
            # Fuzzy entries are guesses by msgmerge; gettext leaves them out, and so do we.
            for entry in catalogue.fuzzy_entries():
                catalogue.remove(entry)
            tmp = mo_path.with_suffix(f".mo.{os.getpid()}.tmp")
            catalogue.save_as_mofile(str(tmp))
            tmp.replace(mo_path)  # atomic: two processes starting together never see half a file
            written.append(mo_path)
        except OSError as exc:
            logger.warning("cannot compile %s: %s", po_path, exc)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for path in compile_catalogues():
        logger.info("compiled %s", path)
