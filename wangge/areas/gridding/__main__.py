"""``python -m wangge.areas.gridding divide ...`` (same as ``wangge grids divide``)."""

from .cli import main

raise SystemExit(main())
