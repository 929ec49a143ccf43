"""The serving process's heap once started: frozen, so the cycle collector never walks it again.

A web process holds ~320,000 objects once Django, the URLconf, every view, form and model are
loaded, and none of them is ever garbage. Python's full (oldest-generation) collection walks them
all whenever enough objects have survived two younger collections: ~125 ms of CPU on the 2-core
test machine, landing inside whichever request happened to be running (the case statistics page
at a million cases: p50 89 ms, p95 304 ms). ``gc.freeze()`` moves what is alive into the
permanent generation, so a full collection reads only what requests leave behind (tens of
thousands of objects, a few milliseconds). Cycles made later are still collected.
"""

from __future__ import annotations

import gc


def freeze_startup() -> int:
    """Import the URLconf (and with it every view), collect once, and freeze what is alive.
    Returns the number of objects frozen. Call it once the application is loaded."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
