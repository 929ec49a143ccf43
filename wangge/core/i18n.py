"""Compiling translation catalogues (.po → .mo) in pure Python, so no gettext binary is needed.

``.mo`` files are build products and not in git. ``compile_catalogues()`` runs at start-up
(``wangge.web`` app ready) but only writes when a ``.mo`` is missing or older than its ``.po``:
a fresh install or a ``git pull`` just works, and a normal start costs a few ``stat`` calls.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


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

    A read-only install (a wheel in site-packages owned by root) cannot write next to the .po;
    that is logged, not raised, so the site still starts (in Chinese, the source language).
    """
    if locale_dirs is None:
        from django.conf import settings

        locale_dirs = [Path(p) for p in settings.LOCALE_PATHS]
    stale = stale_catalogues(locale_dirs)
    if not stale:
        return []
    try:
        import polib
    except ImportError:  # pragma: no cover - polib is a dependency
        logger.warning("polib is not installed; translations not compiled")
        return []
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
