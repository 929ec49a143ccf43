"""The ``wangge`` console script: Django's management commands with Wangge's settings preset.

``wangge grids divide`` runs the grid-division engine on files without touching Django, so a
planner can use it anywhere.
"""

from __future__ import annotations

import os
import sys

OVERVIEW = """\
Usage: wangge <command> [options]      (wangge help <command> for a command's options)

Wangge's own commands:
  demo [--residents N] [--seed S]        build or rebuild the Lishan District demo
  serve [--bind HOST:PORT]               migrate, then serve with gunicorn
  import residents FILE [--report PATH]  import residents from XLSX or CSV (UTF-8, BOM, GBK, GB18030)
  grids divide --buildings IN.geojson --target 300 --out OUT.geojson [--existing PREV] [--polygons]
                                         cut communities into balanced, contiguous grids (files only)
  worker [--shared] [--no-ingest]        MQTT location ingest, background tasks and periodic jobs
  worker --check                         one line on whether the worker is alive; exit 0 or 1
  backup PATH                            a consistent backup of the database while serving
  restore PATH [--force]                 load a backup into the configured (empty) database

Django's commands (migrate, createsuperuser, shell, …) work as usual:
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["grids"]:
        from wangge.areas.gridding.cli import main as divide

        if args[1:2] == ["divide"]:
            return divide(args[2:])
        print("usage: wangge grids divide --buildings IN.geojson --target 300 --out OUT.geojson", file=sys.stderr)
        print("       (wangge grids divide --help for all options)", file=sys.stderr)
        return 0 if args[1:2] in (["--help"], ["-h"]) else 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    if args in ([], ["--help"], ["-h"], ["help"]):
        print(OVERVIEW)
        args = ["help"]
    try:
        execute_from_command_line(["wangge", *args])
    except ImproperlyConfigured as exc:
        print(f"wangge: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
