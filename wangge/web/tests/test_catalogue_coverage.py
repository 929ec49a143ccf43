"""Every translatable string of every app has an English translation Django will use.

``test_i18n`` checks the catalogue's own entries; this checks the other half, from the code's
side: each string marked for translation in any app's Python or templates must be an entry of
``locale/en/LC_MESSAGES/django.po`` that is translated (every plural form) and not fuzzy —
Django skips fuzzy entries, so a string missing, empty or fuzzy shows in Chinese on an English
page. A new string fails here until ``wangge makemessages -l en --no-obsolete --no-wrap`` has
gathered it and someone has translated it.

No gettext binaries: Python files are read with ``ast`` (the calls xgettext would see), and
templates with Django's own ``templatize`` (what ``makemessages`` feeds xgettext). A second
test keeps Chinese out of template text outside ``{% translate %}``/``{% blocktranslate %}``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import polib
from django.template.base import Lexer, TokenType
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
SKIPPED_DIRS = {"tests", "migrations", "locale", "static", "__pycache__"}
# name -> (index of msgid, index of msgid_plural or None, index of msgctxt or None), as xgettext's keywords
FUNCTIONS = {
    "_": (0, None, None),
    "gettext": (0, None, None),
    "gettext_lazy": (0, None, None),
    "gettext_noop": (0, None, None),
    "ngettext": (0, 1, None),
    "ngettext_lazy": (0, 1, None),
    "pgettext": (1, None, 0),
    "pgettext_lazy": (1, None, 0),
    "npgettext": (1, 2, 0),
    "npgettext_lazy": (1, 2, 0),
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# Full-width punctuation left between tags reads as （ and ： on an English page.
CHINESE_PUNCTUATION = re.compile(r"[\u3000-\u303f\uff00-\uffef]")
# Deliberately Chinese in every language: the brand's characters and the language switch's own name.
TEMPLATE_TEXT_ALLOWED = ("网格", "简体中文")

Key = tuple[str | None, str, str | None]  # (context, msgid, msgid_plural)


def _files(suffix: str) -> list[Path]:
    return [
        path for path in sorted(ROOT.rglob(f"*{suffix}")) if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts[:-1])
    ]


def _key(args: list[str | None], spec: tuple[int, int | None, int | None]) -> Key | None:
    singular, plural, context = spec

    def arg(index: int | None) -> str | None:
        return args[index] if index is not None and index < len(args) else None

    msgid = arg(singular)
    return (arg(context), msgid, arg(plural)) if msgid else None


def python_strings(path: Path) -> dict[Key, str]:
    found: dict[Key, str] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in FUNCTIONS:
            continue
        args = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        key = _key(args, FUNCTIONS[name])
        if key:
            found.setdefault(key, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def template_strings(path: Path) -> dict[Key, str]:
    """The calls ``templatize`` writes for {% translate %}, {% blocktranslate %} and _("…")."""
    found: dict[Key, str] = {}
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    code = "\n".join(line.lstrip() for line in code.splitlines())  # tokenize minds indentation; we do not
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type != tokenize.NL]
    for i, token in enumerate(tokens[:-1]):
        if token.type != tokenize.NAME or token.string not in FUNCTIONS or tokens[i + 1].string != "(":
            continue
        args: list[str | None] = []
        for inner in tokens[i + 2 :]:
            if inner.string == ")":
                break
            if inner.type == tokenize.STRING:
                args.append(ast.literal_eval(inner.string))
            elif inner.type == tokenize.NAME:
                args.append(None)
        key = _key(args, FUNCTIONS[token.string])
        if key:
            found.setdefault(key, f"{path.relative_to(ROOT)}:{token.start[0]}")
    return found


def source_strings() -> dict[Key, str]:
    found: dict[Key, str] = {}
    for path in _files(".py"):
        for key, where in python_strings(path).items():
            found.setdefault(key, where)
    for suffix in (".html", ".txt"):
        for path in _files(suffix):
            for key, where in template_strings(path).items():
                found.setdefault(key, where)
    return found


def test_it_finds_strings_in_every_app() -> None:
    places = {where.split("/")[0] for where in source_strings().values()}
    assert {"accounts", "areas", "core", "protection", "registry", "web"} <= places
    assert len(source_strings()) > 700


def test_it_has_an_english_translation_for_every_string_in_the_code() -> None:
    entries = {(e.msgctxt, e.msgid, e.msgid_plural or None): e for e in polib.pofile(str(PO)) if not e.obsolete}
    problems = {}
    for key, where in source_strings().items():
        entry = entries.get(key)
        if entry is None:
            problems[key[1]] = f"{where}: not in the catalogue"
        elif entry.fuzzy:
            problems[key[1]] = f"{where}: fuzzy (Django ignores it)"
        elif not entry.translated():
            problems[key[1]] = f"{where}: no English"
    assert problems == {}, "run `wangge makemessages -l en --no-obsolete --no-wrap` from wangge/ and translate"


def test_it_keeps_chinese_template_text_inside_translation_tags() -> None:
    problems = []
    for path in _files(".html"):
        inside = False  # in a {% blocktranslate %} or a {% comment %}
        for token in Lexer(path.read_text(encoding="utf-8")).tokenize():
            words = token.contents.split()
            word = words[0] if words and token.token_type == TokenType.BLOCK else ""
            if word in ("blocktranslate", "blocktrans", "comment", "endblocktranslate", "endblocktrans", "endcomment"):
                inside = not word.startswith("end")
                continue
            if inside or word in ("translate", "trans") or token.token_type == TokenType.COMMENT:
                continue
            text = re.sub(r'_\("(?:[^"\\]|\\.)*"\)', "", token.contents)
            for allowed in TEMPLATE_TEXT_ALLOWED:
                text = text.replace(allowed, "")
            if CHINESE.search(text) or CHINESE_PUNCTUATION.search(text):
                problems.append(f"{path.relative_to(ROOT)}:{token.lineno}: {text.strip()[:60]}")
    assert problems == []
