"""Import reports: a CSV per run, kept under the data directory, readable only by its uploader.

The file name carries the owner's id and a random token, so the download view can find a
report only by asking for the current user's own file: another user's token simply is not
there (404), and nothing needs a database table.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import secrets
import time
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _

from wangge.registry.importing.residents import Problem


class ImportResult(Protocol):
    """What a report is made from: any import's result (residents, units) with its problems."""

    problems: list[Problem]


TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
KEEP = dt.timedelta(days=7)


def directory() -> Path:
    path = Path(settings.DATA_DIR) / "import-reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(result: ImportResult, path: Path) -> None:
    """UTF-8 with BOM, so Excel on Chinese Windows opens it without mojibake."""
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([_("行号"), _("列"), _("状态"), _("原因")])
        for problem in result.problems:
            writer.writerow([problem.row, _cell(problem.column), problem.status_label, _cell(problem.reason)])


def _cell(text: str) -> str:
    """Text from the uploaded file must not become a formula when Excel opens the report."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def store(result: ImportResult, *, owner_id: int | None) -> str:
    """Save the report and return the token that names it for ``owner_id``."""
    _forget_old()
    token = secrets.token_urlsafe(24)
    write_csv(result, _path(token, owner_id))
    return token


def _forget_old() -> None:
    """Reports are for fixing the file just uploaded; a week later they are only a liability."""
    cutoff = time.time() - KEEP.total_seconds()
    for path in directory().glob("u*-*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            continue


def find(token: str, *, owner_id: int | None) -> Path | None:
    if not TOKEN.fullmatch(token):
        return None
    path = _path(token, owner_id)
    return path if path.is_file() else None


def _path(token: str, owner_id: int | None) -> Path:
    return directory() / f"u{owner_id or 0}-{token}.csv"
