"""The statutory clocks across their boundaries, with a controlled clock (no database)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from wangge.cases import clocks

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, time: str = "10:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=TZ)


def test_it_gives_fifteen_calendar_days_to_decide_on_acceptance_not_counting_the_day_of_receipt() -> None:
    # Received on Friday 6 March 2026 in the afternoon: the weekend counts (calendar days).
    due = clocks.petition_accept_due(at("2026-03-06", "16:30"), TZ)
    assert due == at("2026-03-22", "00:00")  # the end of Saturday 21 March, day 15
    running = dict(petition=True, accept_due=due, accepted_at=None, handle_due=None, stopped=False)
    assert not clocks.clock(**running, now=at("2026-03-21", "23:59")).overdue
    assert clocks.clock(**running, now=at("2026-03-22", "00:00")).overdue


def test_it_shows_a_petition_due_soon_in_its_last_three_days() -> None:
    due = clocks.petition_accept_due(at("2026-03-06"), TZ)
    running = dict(petition=True, accept_due=due, accepted_at=None, handle_due=None, stopped=False)
    assert not clocks.clock(**running, now=at("2026-03-18", "23:59")).due_soon
    assert clocks.clock(**running, now=at("2026-03-19", "00:00")).due_soon
    assert clocks.clock(**running, now=at("2026-03-21", "12:00")).days_left == 0


def test_it_gives_sixty_days_to_handle_from_acceptance() -> None:
    accepted = at("2026-01-31", "09:00")
    due = clocks.petition_handle_due(accepted, TZ)
    assert due == at("2026-04-02", "00:00")  # 1 April is day 60 (February has 28 days)
    running = dict(petition=True, accept_due=at("2026-02-15"), accepted_at=accepted, handle_due=due, stopped=False)
    assert clocks.clock(**running, now=at("2026-04-01", "23:59")).phase == "handle"
    assert not clocks.clock(**running, now=at("2026-04-01", "23:59")).overdue
    assert clocks.clock(**running, now=at("2026-04-02", "00:00")).overdue


def test_it_allows_one_extension_of_at_most_thirty_days_making_ninety() -> None:
    accepted = at("2026-01-31")
    due = clocks.petition_handle_due(accepted, TZ, extension_days=30)
    assert due == at("2026-05-02", "00:00")  # day 90 is 1 May
    assert due - clocks.petition_handle_due(accepted, TZ) == dt.timedelta(days=30)
    with pytest.raises(ValueError):
        clocks.petition_handle_due(accepted, TZ, extension_days=31)


def test_it_stops_the_clock_once_answered() -> None:
    stopped = clocks.clock(
        petition=True,
        accept_due=at("2026-01-01"),
        accepted_at=at("2026-01-01"),
        handle_due=at("2026-01-02"),
        stopped=True,
        now=at("2027-01-01"),
    )
    assert stopped.phase == "stopped"
    assert not stopped.overdue


def test_it_opens_review_and_re_review_windows_of_thirty_days_each() -> None:
    replied = at("2026-06-30", "15:00")
    request_due = clocks.review_request_due(replied, TZ)
    assert clocks.may_request(request_due, at("2026-07-30", "23:59"))
    assert not clocks.may_request(request_due, at("2026-07-31", "00:00"))
    assert clocks.review_answer_due(at("2026-07-10"), TZ) == at("2026-08-10", "00:00")
    assert clocks.rereview_request_due(at("2026-08-09"), TZ) == at("2026-09-09", "00:00")
    assert clocks.rereview_answer_due(at("2026-09-01"), TZ) == at("2026-10-02", "00:00")
    assert clocks.accepts_again(rereviewed=False)
    assert not clocks.accepts_again(rereviewed=True)


def test_it_counts_grid_events_in_the_categorys_hours_and_days() -> None:
    received = at("2026-03-06", "22:15")
    assert clocks.event_accept_due(received, respond_hours=2) == at("2026-03-07", "00:15")
    assert clocks.event_accept_due(received, respond_hours=None) == at("2026-03-07", "22:15")
    assert clocks.event_handle_due(received, solve_days=7) == at("2026-03-13", "22:15")
    running = dict(
        petition=False, accept_due=received, accepted_at=received, handle_due=at("2026-03-13", "22:15"), stopped=False
    )
    assert clocks.clock(**running, now=at("2026-03-13", "10:15")).due_soon
    assert not clocks.clock(**running, now=at("2026-03-13", "10:14")).due_soon
