"""Text stored for display, shown in the reader's language.

Audit summaries and notification titles and bodies are written once, already formatted in
whatever language was active then (``_("报告走失：%(name)s") % {...}``): Chinese from the
worker and from Chinese users, English from a user reading in English. The audit log is
append-only, so its rows cannot be migrated to message keys; instead a stored text is matched,
when shown, against the project's own catalogue: every message in it, in Chinese (the msgid)
or in English (its translation), plain or with ``%(name)s`` placeholders. A match is translated
again into the reader's language, its parameters too when they are themselves messages (a
choice label such as 离开安全区域) or registered terms (a code such as the purpose
``incident``). Text that matches nothing (a name, a free note) is shown as it was stored.

Apps register the codes they store inside messages with :func:`register_terms` (from their
``AppConfig.ready``); core knows no app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils.translation import get_language, gettext, ngettext, override, trans_real

_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
_PLACEHOLDER = re.compile(r"%\((\w+)\)([-#0 +]*\d*(?:\.\d+)?)([sdifr])|%%")
_TERMS: dict[str, Any] = {}  # code → lazy label
LOOSE = 3  # a pattern with fewer fixed characters is tried last, on a whole text only
_SEPARATORS = re.compile(r"(\n|；)")


def register_terms(terms: Mapping[str, Any]) -> None:
    """Codes stored inside messages (``"incident"``) and their lazy labels (``_("走失搜寻")``)."""
    _TERMS.update(terms)


@dataclass(frozen=True)
class _Pattern:
    msgid: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    numeric: frozenset[str]
    literal: int  # characters of fixed text: the more, the surer the match
    plural: bool = False


def _compile(text: str) -> tuple[re.Pattern[str], tuple[str, ...], frozenset[str]] | None:
    names: list[str] = []
    numeric: set[str] = set()
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(re.escape(text[last : match.start()]))
        last = match.end()
        if match.group(0) == "%%":
            parts.append("%")
            continue
        name, kind = match.group(1), match.group(3)
        if name in names:  # the same parameter twice: must be equal
            parts.append(f"(?P={name})")
            continue
        names.append(name)
        if kind in "dif":
            numeric.add(name)
            parts.append(f"(?P<{name}>-?[\\d.,]+)")
        else:
            parts.append(f"(?P<{name}>.+?)")
    parts.append(re.escape(text[last:]))
    if not names:
        return None
    try:
        return re.compile("^" + "".join(parts) + "$", re.DOTALL), tuple(names), frozenset(numeric)
    except re.error:
        return None


@lru_cache(maxsize=4)
def _index(language: str) -> tuple[dict[str, str], list[_Pattern]]:
    """(plain text → msgid, formatted patterns) from the ``language`` catalogue (English: the
    one that holds both sides of every message)."""
    catalog = trans_real.translation(language)._catalog  # type: ignore[attr-defined]
    plain: dict[str, str] = {}
    patterns: list[_Pattern] = []
    for key, translated in catalog.items():
        plural = isinstance(key, tuple)
        msgid = key[0] if plural else key
        if not isinstance(msgid, str) or "\x04" in msgid or not _CJK.search(msgid):
            continue  # Django's own English messages, contexts, and the catalogue header
        sides = {translated} if plural and key[1] != 0 else {msgid, translated}
        for side in sides:
            if not side:
                continue
            compiled = _compile(side)
            if compiled is None:
                if not plural:
                    plain.setdefault(side, msgid)
            else:
                regex, names, numeric = compiled
                literal = len(_PLACEHOLDER.sub("", side))
                patterns.append(_Pattern(msgid, regex, names, numeric, literal, plural))
    # The most literal text wins over a looser pattern ("%(name)s：%(kind)s").
    patterns.sort(key=lambda p: -p.literal)
    return plain, patterns


def _term(value: str) -> str:
    label = _TERMS.get(value)
    return str(label) if label is not None else value


def _number(value: str) -> int | float | str:
    try:
        return int(value.replace(",", ""))
    except ValueError:
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return value


def _translate_one(text: str, depth: int, *, loose: bool = False) -> str | None:
    """``text`` if it is one known message (``loose``: also patterns with next to no fixed
    text, such as ``%(name)s：%(kind)s``, which match almost anything)."""
    plain, patterns = _index("en")
    msgid = plain.get(text)
    if msgid is not None:
        return gettext(msgid)
    if text in _TERMS:
        return _term(text)
    if depth > 2:
        return None
    for pattern in patterns:
        if pattern.literal < LOOSE and not loose:
            break  # sorted: only looser ones follow
        match = pattern.regex.match(text)
        if match is None:
            continue
        params: dict[str, Any] = {}
        for name in pattern.names:
            value = match.group(name)
            if name in pattern.numeric:
                params[name] = _number(value)
            else:
                params[name] = translate(value, _depth=depth + 1)
        if pattern.plural:
            raw = [match.group(name).replace(",", "") for name in pattern.names]
            count = next((int(v) for v in raw if v.isdigit()), 1)
            template = ngettext(pattern.msgid, pattern.msgid, count)
        else:
            template = gettext(pattern.msgid)
        try:
            return template % {
                name: value if name in pattern.numeric and not isinstance(value, str) else str(value)
                for name, value in params.items()
            }
        except (TypeError, ValueError, KeyError):
            continue
    return None


def translate(text: str, *, _depth: int = 0) -> str:
    """``text`` as the current reader should read it (itself when nothing is known of it)."""
    if not text or get_language() is None:
        return text
    whole = _translate_one(text, _depth)
    if whole is not None:
        return whole
    if _depth == 0 and "\n" not in text:
        clauses = _clauses(text, _depth)
        if clauses != text:
            return clauses
        whole = _translate_one(text, _depth, loose=True)
        if whole is not None:
            return whole
    # Messages joined by the code that stored them: lines, "…；…", and "…，地点：…" clauses.
    pieces = _SEPARATORS.split(text)
    if len(pieces) == 1:
        return _clauses(text, _depth)
    english = not (get_language() or "").startswith("zh")
    out = []
    for piece in pieces:
        if piece == "；":
            out.append("; " if english else piece)
        elif piece and piece != "\n":
            out.append(_translate_one(piece, _depth) or _clauses(piece, _depth))
        else:
            out.append(piece)
    return "".join(out)


def _clauses(text: str, depth: int) -> str:
    """A known message followed by known clauses that begin with "，" (as stored by code that
    appends ``_("，地点：%(where)s")``); the text itself when any part is unknown."""
    cuts = [i for i, char in enumerate(text) if char in "，," and i > 0]
    for cut in cuts:
        head, tail = _translate_one(text[:cut], depth), _translate_one(text[cut:], depth)
        if head is not None and tail is not None:
            return head + tail
    return text


def translate_in(text: str, language: str) -> str:
    with override(language):
        return translate(text)
