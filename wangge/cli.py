"""The ``wangge`` console script: Django's management commands with Wangge's settings preset.

``wangge grids divide`` runs the grid-division engine on files without touching Django, so a
planner can use it anywhere.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:2] == ["grids", "divide"]:
        from wangge.areas.gridding.cli import main as divide

        return divide(args[2:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["wangge", *args])
    except ImproperlyConfigured as exc:
        print(f"wangge: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
