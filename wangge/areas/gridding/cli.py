"""``wangge grids divide``: grid division on GeoJSON files, no database.

Kept free of Django so the ``wangge`` console script can dispatch here
without configuring settings, and so the engine can be run on exported files
by people who have no server.  Exit status: 0 on success, 2 on bad input or
missing files, 1 on unexpected failure.  The last line on stdout is a JSON
summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from .divide import divide, rebalance
from .geojson_io import InputError, output_document, read_buildings, read_previous, write_json
from .metrics import evaluate
from .model import GriddingError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wangge grids divide",
        description=(
            "Divide buildings into balanced, contiguous grids per community "
            "(or rebalance an earlier division with --existing)."
        ),
    )
    p.add_argument("--buildings", required=True, metavar="IN.geojson", help="Point features")
    p.add_argument("--target", type=int, default=300, help="households per grid (default 300)")
    p.add_argument("--tolerance", type=float, default=0.10, help="allowed deviation (default 0.10)")
    p.add_argument("--existing", metavar="PREV.geojson", help="earlier output: rebalance, keep grid ids")
    p.add_argument("--out", required=True, metavar="OUT.geojson")
    p.add_argument("--polygons", action="store_true", help="add one Polygon feature per grid")
    return p


def run(args: argparse.Namespace) -> dict[str, object]:
    t_start = time.perf_counter()
    if args.target <= 0:
        raise InputError("--target must be a positive integer")
    if not 0 <= args.tolerance < 1:
        raise InputError("--tolerance must be in [0, 1)")
    features, buildings = read_buildings(args.buildings)
    if args.existing:
        previous, prev_hh = read_previous(args.existing)
        division = rebalance(buildings, previous, args.target, args.tolerance, prev_hh)
    else:
        division = divide(buildings, args.target, args.tolerance)
    summary = evaluate(buildings, division.assignment, args.target, args.tolerance)
    polys = None
    if args.polygons:
        from .polygons import grid_polygons

        polys = grid_polygons(buildings, division.assignment)
        pp = [p.polsby_popper for p in polys.values()]
        summary["mean_polsby_popper"] = round(sum(pp) / len(pp), 4) if pp else None
    write_json(args.out, output_document(features, buildings, division, polys))
    if args.existing:
        summary["moved_households"] = division.moved_households
    summary["seconds"] = round(division.seconds, 3)
    summary["total_seconds"] = round(time.perf_counter() - t_start, 3)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # accept "grids divide ..." / "divide ..." prefixes from dispatchers
    if args_list[:1] == ["grids"]:
        args_list = args_list[1:]
    if args_list[:1] == ["divide"]:
        args_list = args_list[1:]
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse: 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        summary = run(args)
    except (InputError, GriddingError) as exc:
        print(f"wangge grids divide: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"wangge grids divide: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
