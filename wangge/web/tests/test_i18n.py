"""The English catalogue: complete, and compiled without gettext when missing or stale."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import polib

from wangge.core.i18n import compile_catalogues, stale_catalogues

PO = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]")


def test_it_translates_every_string_into_english() -> None:
    catalogue = polib.pofile(str(PO))
    untranslated = [e.msgid for e in catalogue if not e.obsolete and not e.translated()]
    assert untranslated == []


def test_it_defines_each_message_once() -> None:
    # Two entries with one msgid make gettext's msgfmt refuse the file, and only one of the
    # two English texts can ever be shown (branches merged in parallel each added one).
    seen: dict[tuple[str, str], int] = {}
    for entry in polib.pofile(str(PO)):
        if not entry.obsolete:
            key = (entry.msgctxt or "", entry.msgid)
            seen[key] = seen.get(key, 0) + 1
    assert [msgid for (_, msgid), count in seen.items() if count > 1] == []


def test_it_keeps_every_placeholder_in_the_translations() -> None:
    for entry in polib.pofile(str(PO)):
        expected = sorted(set(PLACEHOLDER.findall(entry.msgid)))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            assert sorted(set(PLACEHOLDER.findall(text))) == expected, entry.msgid


def test_it_compiles_a_missing_or_stale_catalogue_and_skips_a_fresh_one(tmp_path: Path) -> None:
    target = tmp_path / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = target / "django.po"
    shutil.copy(PO, po)
    assert compile_catalogues([tmp_path]) == [target / "django.mo"]
    assert compile_catalogues([tmp_path]) == []
    mo = polib.mofile(str(target / "django.mo"))
    assert mo.find("退出登录").msgstr == "Sign out"
    old = po.stat().st_mtime - 100
    os.utime(target / "django.mo", (old, old))
    assert stale_catalogues([tmp_path]) == [(po, target / "django.mo")]
