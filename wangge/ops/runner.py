"""The worker's background threads, apart from ingest's storing thread: one drains the task
queue, one runs the periodic jobs that are due, one writes the heartbeat, and one per channel
delivers notifications (``protection.notify.sender_threads``). Each has its own
database connection, so a slow job or task never holds up a batch of locations."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone

from wangge.core import health, periodic, tasks
from wangge.protection import notify

logger = logging.getLogger(__name__)


class Loop(threading.Thread):
    """Calls ``step`` every ``interval`` seconds until ``stop`` is set; survives its failures."""

    def __init__(self, *, name: str, step: Callable[[], object], interval: float, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.step = step
        self.interval = interval
        self.stop = stop

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.step()
                except OperationalError:
                    logger.exception("%s: database error; retrying", self.name)
                    close_old_connections()
                except Exception:
                    logger.exception("%s failed", self.name)
                self.stop.wait(self.interval)
        finally:
            connection.close()


class Heartbeat:
    """Tells the database this worker is alive, whether its broker is connected and when it
    last stored a message (the stored count moving on is what "stored" means here)."""

    def __init__(self, *, name: str, ingest: object | None) -> None:
        self.name = name
        self.ingest = ingest
        self.started_at = timezone.now()
        self.stored = 0
        self.last_stored_at: dt.datetime | None = None

    def beat(self) -> None:
        stored = getattr(getattr(self.ingest, "stats", None), "stored", 0)
        if stored != self.stored:
            self.stored, self.last_stored_at = stored, timezone.now()
        connected = getattr(self.ingest, "connected", None)
        health.heartbeat(
            name=self.name,
            started_at=self.started_at,
            ingest=self.ingest is not None,
            broker_connected=bool(connected is not None and connected.is_set()),
            stored=self.stored,
            last_stored_at=self.last_stored_at,
        )


def background_threads(
    *, name: str, stop: threading.Event, ingest: object | None, jobs: bool, run_tasks: bool, send: bool = True
) -> list[threading.Thread]:
    """The threads the worker starts beside ingest (not started yet)."""
    heartbeat = Heartbeat(name=name, ingest=ingest)
    threads: list[threading.Thread] = [
        Loop(name="heartbeat", step=heartbeat.beat, interval=health.HEARTBEAT_EVERY, stop=stop)
    ]
    if jobs:
        threads.append(Loop(name="jobs", step=lambda: periodic.run_due_jobs(runner=name), interval=1.0, stop=stop))
    if run_tasks:
        threads.append(Loop(name="tasks", step=lambda: tasks.run_queued(worker=name), interval=1.0, stop=stop))
    if send:
        threads.extend(notify.sender_threads(worker=name, stop=stop))
    return threads
