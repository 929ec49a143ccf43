"""What an audit entry's object is, for the person reading the log: a name and a link.

Entries store ``object_type`` (``registry.resident``) and ``object_id``. Each app registers, for
its own types, a function that names the objects the reader may see and links to their pages
(:func:`register`, from the app's ``AppConfig.ready``); core knows no app. An object the reader
may not see, or that no longer exists, gets a neutral label: the type's name and its number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.utils.translation import gettext as _

# (reader, ids) → {id: (name, url or "")} for the objects the reader may see.
Describer = Callable[[Any, list[str]], dict[str, tuple[str, str]]]
_DESCRIBERS: dict[str, Describer] = {}
_TYPE_NAMES: dict[str, Any] = {}


@dataclass(frozen=True)
class ObjectLabel:
    type_name: str
    name: str
    url: str = ""


def register(object_type: str, describer: Describer) -> None:
    _DESCRIBERS[object_type] = describer


def name_type(object_type: str, name: Any) -> None:
    """A human name for an object type that is no model (``registry.search``), lazy."""
    _TYPE_NAMES[object_type] = name


def type_name(object_type: str) -> str:
    """The human name of an object type (``registry.resident`` → 居民), the type itself when
    it names no model."""
    if object_type in _TYPE_NAMES:
        return str(_TYPE_NAMES[object_type])
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return str(model._meta.verbose_name)


def int_ids(ids: Iterable[str]) -> list[int]:
    return [int(i) for i in ids if str(i).isdigit()]


def describe(reader: Any, entries: Iterable[Any]) -> dict[tuple[str, str], ObjectLabel]:
    """(object_type, object_id) → label for every entry with an object, in a few queries."""
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.object_type and entry.object_id:
            wanted.setdefault(entry.object_type, set()).add(str(entry.object_id))
    labels: dict[tuple[str, str], ObjectLabel] = {}
    for object_type, ids in wanted.items():
        kind = type_name(object_type)
        describer = _DESCRIBERS.get(object_type)
        found = describer(reader, sorted(ids)) if describer is not None else {}
        for object_id in ids:
            if object_id in found:
                name, url = found[object_id]
                labels[(object_type, object_id)] = ObjectLabel(kind, name, url)
            else:
                labels[(object_type, object_id)] = ObjectLabel(
                    kind, _("%(type)s #%(id)s") % {"type": kind, "id": object_id}
                )
    return labels
