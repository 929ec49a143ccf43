"""Running Wangge: the ``worker`` command that brings ingest, background tasks and periodic
jobs together. On top of every app, so it may import them all."""
