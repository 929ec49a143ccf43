import gc
import importlib

from wangge.core.heap import freeze_startup


def test_the_serving_process_freezes_what_it_loaded_at_start_up():
    try:
        frozen = freeze_startup()
        assert frozen > 10_000  # Django, the URLconf and every view
        # An object untracked since (a tuple or dict found to hold no containers) leaves the
        # permanent generation: the count may drop a little, never grow by itself.
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()


def test_the_wsgi_application_is_loaded_with_its_start_up_heap_frozen():
    import wangge.wsgi

    try:
        gc.unfreeze()
        importlib.reload(wangge.wsgi)
        assert callable(wangge.wsgi.application)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
