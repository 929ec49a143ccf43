"""Reading and writing the GeoJSON files of ``wangge grids divide``.

Validation is strict and every message names the offending feature by its
index in ``features`` and its id, because these files are produced by hand or
by export scripts and the person fixing them needs to find the line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .model import Allocation, Building, Division, GriddingError


class InputError(GriddingError):
    """A malformed input file (the CLI turns it into exit status 2)."""


def _load(path: str | Path, what: str) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{what}: file not found: {p}") from None
    except OSError as exc:
        raise InputError(f"{what}: cannot read {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{what}: {p} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what}: {p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def _features(doc: Any, what: str) -> list[Any]:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"{what}: not a GeoJSON FeatureCollection")
    feats = doc.get("features")
    if not isinstance(feats, list):
        raise InputError(f"{what}: FeatureCollection has no 'features' list")
    return feats


def _label(i: int, fid: Any) -> str:
    return f"feature #{i} (id {fid!r})" if fid is not None else f"feature #{i} (no id)"


def _int(value: Any) -> int | None:
    """``value`` as an int if it is an integral JSON number, else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _raw_id(feat: Any) -> Any:
    if not isinstance(feat, dict):
        return None
    props = feat.get("properties")
    if isinstance(props, dict) and props.get("id") is not None:
        return props.get("id")
    return feat.get("id")


def _parse_id(i: int, feat: dict[str, Any]) -> str:
    fid = _raw_id(feat)
    if fid is None:
        raise InputError(f"{_label(i, None)}: missing property 'id'")
    if isinstance(fid, bool) or not isinstance(fid, (str, int)):
        raise InputError(f"{_label(i, fid)}: 'id' must be a string")
    sid = str(fid)
    if not sid.strip():
        raise InputError(f"{_label(i, fid)}: 'id' is empty")
    return sid


def _point(i: int, fid: str, feat: dict[str, Any]) -> tuple[float, float]:
    geom = feat.get("geometry")
    if not isinstance(geom, dict) or geom.get("type") != "Point":
        kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
        raise InputError(f"{_label(i, fid)}: geometry must be a Point, got {kind}")
    coords = geom.get("coordinates")
    if (
        not isinstance(coords, list)
        or len(coords) < 2
        or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords[:2])
    ):
        raise InputError(f"{_label(i, fid)}: Point coordinates must be [lon, lat] numbers")
    lon, lat = float(coords[0]), float(coords[1])
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InputError(f"{_label(i, fid)}: coordinates out of range (lon {coords[0]}, lat {coords[1]})")
    return lon, lat


def parse_buildings(doc: Any, what: str = "buildings") -> tuple[list[Any], list[Building]]:
    """Validate a buildings FeatureCollection; returns ``(features, buildings)``."""
    feats = _features(doc, what)
    buildings: list[Building] = []
    seen: dict[str, int] = {}
    for i, feat in enumerate(feats):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise InputError(f"{what}: {_label(i, _raw_id(feat))}: not a GeoJSON Feature")
        props = feat.get("properties")
        if not isinstance(props, dict):
            raise InputError(f"{what}: {_label(i, _raw_id(feat))}: missing 'properties' object")
        fid = _parse_id(i, feat)
        if fid in seen:
            raise InputError(f"{what}: {_label(i, fid)}: duplicate id (also feature #{seen[fid]})")
        seen[fid] = i
        try:
            lon, lat = _point(i, fid, feat)
        except InputError as exc:
            raise InputError(f"{what}: {exc}") from None
        raw_h = props.get("households")
        if raw_h is None:
            raise InputError(f"{what}: {_label(i, fid)}: missing property 'households'")
        h = _int(raw_h)
        if h is None or h < 0:
            raise InputError(f"{what}: {_label(i, fid)}: 'households' must be an integer >= 0, got {raw_h!r}")
        raw_e = props.get("entrances")
        e = 1 if raw_e is None else _int(raw_e)
        if e is None or e < 1:
            raise InputError(f"{what}: {_label(i, fid)}: 'entrances' must be an integer >= 1, got {raw_e!r}")
        raw_c = props.get("community")
        if raw_c is None:
            community = ""
        elif isinstance(raw_c, (str, int)) and not isinstance(raw_c, bool):
            community = str(raw_c)
        else:
            raise InputError(f"{what}: {_label(i, fid)}: 'community' must be a string, got {raw_c!r}")
        buildings.append(Building(fid, lon, lat, h, community, e))
    return feats, buildings


def read_buildings(path: str | Path) -> tuple[list[Any], list[Building]]:
    return parse_buildings(_load(path, "buildings"), "buildings")


def parse_previous(doc: Any, what: str = "existing") -> tuple[dict[str, Allocation], dict[str, int]]:
    """An earlier output: building id -> allocation, and id -> households then.

    Grid polygon features (``kind == "grid"``) are ignored.
    """
    feats = _features(doc, what)
    previous: dict[str, Allocation] = {}
    households: dict[str, int] = {}
    for i, feat in enumerate(feats):
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise InputError(f"{what}: {_label(i, _raw_id(feat))}: not a GeoJSON Feature")
        props = feat.get("properties")
        if isinstance(props, dict) and props.get("kind") == "grid":
            continue
        if not isinstance(props, dict):
            raise InputError(f"{what}: {_label(i, _raw_id(feat))}: missing 'properties' object")
        fid = _parse_id(i, feat)
        if fid in previous:
            raise InputError(f"{what}: {_label(i, fid)}: duplicate id")
        raw = props.get("assignment")
        if not isinstance(raw, list) or not raw:
            raise InputError(f"{what}: {_label(i, fid)}: missing 'assignment' list")
        parts: Allocation = []
        for pair in raw:
            hh = _int(pair[1]) if isinstance(pair, list) and len(pair) == 2 else None
            if hh is None or hh < 0 or not isinstance(pair[0], str):
                raise InputError(f"{what}: {_label(i, fid)}: 'assignment' must be [[grid_id, households], ...]")
            parts.append((pair[0], hh))
        previous[fid] = parts
        h = _int(props.get("households"))
        households[fid] = h if h is not None and h >= 0 else sum(p[1] for p in parts)
    return previous, households


def read_previous(path: str | Path) -> tuple[dict[str, Allocation], dict[str, int]]:
    return parse_previous(_load(path, "existing"), "existing")


def output_document(
    features: Sequence[Any],
    buildings: Sequence[Building],
    division: Division,
    polygons: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Input features with ``assignment`` added, plus grid polygons if given."""
    out = []
    for feat, b in zip(features, buildings, strict=True):
        f = dict(feat)
        props = dict(f.get("properties") or {})
        props["assignment"] = [[g, hh] for g, hh in division.assignment[b.id]]
        f["properties"] = props
        out.append(f)
    if polygons:
        import shapely

        for gid, poly in polygons.items():
            out.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(shapely.to_geojson(poly.geometry)),
                    "properties": {
                        "kind": "grid",
                        "grid_id": gid,
                        "community": poly.community,
                        "households": poly.households,
                        "polsby_popper": round(poly.polsby_popper, 4),
                    },
                }
            )
    return {"type": "FeatureCollection", "features": out}


def write_json(path: str | Path, doc: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
