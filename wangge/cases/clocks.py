"""The statutory clocks of petitions, and the category clocks of grid events. Pure functions.

Petitions follow the Regulations on Petition Work (信访工作条例, approved 2022-01-24, published by
the CPC Central Committee and the State Council on 2022-02-25, as the text's heading says; in
force 2022-05-01, a date not checked against a source):

- Articles 22–23: a petition office registers what it receives and routes it within 15 days
  (Art. 22, para. 1); an office that handles it tells the petitioner in writing, within 15 days
  of receiving it, that it has been received and how and by whom it will be dealt with (Art.
  23, para. 3, for matters transferred to it; para. 1 for those brought to it directly, without
  a number of days) — the acceptance decision of ``ACCEPT_DAYS``.
- Article 34: a petition is handled within 60 days of acceptance (``HANDLE_DAYS``); when it is
  complicated the head of the office may approve an extension of at most 30 days
  (``EXTENSION_MAX_DAYS``), telling the petitioner why.
- Article 35: a petitioner who disagrees with the reply may ask the office one level up for a
  review (复查) within 30 days of receiving the written reply (``REVIEW_REQUEST_DAYS``); the
  review is answered within 30 days of the request (``REVIEW_ANSWER_DAYS``).
- Article 36: re-review (复核) likewise, 30 and 30 days; its last paragraph, in full: "信访人对复核
  意见不服，仍然以同一事实和理由提出投诉请求的，各级党委和政府信访部门和其他机关、单位不再受理。"

Sources, read 2026-12-03 (the official gazette text itself was not reachable from here): the
Articles 22 and 23 wording and numbers from the Futian District Petition Bureau's published
answers (szft.gov.cn, 2024–2025), which quote them by number; Article 36's re-review paragraphs,
word for word, from the Guangdong Provincial Petition Bureau's Q&A (gdwsxf.gd.gov.cn), whose
"党委和政府信访部门" is the 2022 wording (the 2005 《信访条例》 Art. 35 said "各级人民政府信访工作机构");
the 60-day rule's wording (not its number) from the Panzhihua Petition Bureau. No source read
gave the numbers 34, 35 and 36 of the 2022 text; the transcription that numbered the 60-day rule
33 was quoting the 2005 《信访条例》 (its Art. 33), so it does not contradict 34.

The regulation counts days as calendar days (it says "日", not "工作日"), so weekends and holidays
count. As for every period in Chinese law (民法典 Article 201: "按照年、月、日计算期间的，开始的当日
不计入，自下一日开始计算") the day of the event is not counted: a petition received on 1 March must
be decided by the end of 16 March. A deadline is the first instant after its last day (midnight),
so "overdue" is ``now >= due``. Not applied: 民法典 Article 203 makes the day after a statutory
holiday (法定休假日) the last day when the last day falls on one. These clocks have no holiday
calendar, so such a deadline stays where it is: an office's deadline comes no later than the
law's, but a petitioner's window to ask for a review or re-review may close early by the
holiday's length. (民法典 Articles 201 and 203 as several transcriptions of the Code give them.)

Grid events use their category's limits (hours to respond, days to solve), as 12345 hotlines do,
counted from the instant of receipt and of acceptance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

ACCEPT_DAYS = 15
HANDLE_DAYS = 60
EXTENSION_MAX_DAYS = 30
REVIEW_REQUEST_DAYS = 30
REVIEW_ANSWER_DAYS = 30
REREVIEW_REQUEST_DAYS = 30
REREVIEW_ANSWER_DAYS = 30

# Grid events whose category sets no limit.
EVENT_RESPOND_HOURS = 24
EVENT_SOLVE_DAYS = 7

# How long before a deadline a case shows as due soon.
PETITION_DUE_SOON = dt.timedelta(days=3)
EVENT_DUE_SOON = dt.timedelta(hours=12)


def _end_of_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def after_days(start: dt.datetime, days: int, tz: dt.tzinfo) -> dt.datetime:
    """The end of the ``days``-th calendar day after the (local) day of ``start``."""
    return _end_of_day(start.astimezone(tz).date() + dt.timedelta(days=days), tz)


def petition_accept_due(received_at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return after_days(received_at, ACCEPT_DAYS, tz)


def petition_handle_due(accepted_at: dt.datetime, tz: dt.tzinfo, *, extension_days: int = 0) -> dt.datetime:
    if not 0 <= extension_days <= EXTENSION_MAX_DAYS:
        raise ValueError(f"an extension is 0 to {EXTENSION_MAX_DAYS} days")
    return after_days(accepted_at, HANDLE_DAYS + extension_days, tz)


def event_accept_due(received_at: dt.datetime, *, respond_hours: int | None) -> dt.datetime:
    return received_at + dt.timedelta(hours=respond_hours or EVENT_RESPOND_HOURS)


def event_handle_due(accepted_at: dt.datetime, *, solve_days: int | None, extension_days: int = 0) -> dt.datetime:
    return accepted_at + dt.timedelta(days=(solve_days or EVENT_SOLVE_DAYS) + extension_days)


def review_request_due(replied_at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Until when a review (复查) may be asked for (Article 35)."""
    return after_days(replied_at, REVIEW_REQUEST_DAYS, tz)


def review_answer_due(requested_at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return after_days(requested_at, REVIEW_ANSWER_DAYS, tz)


def rereview_request_due(review_answered_at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Until when a re-review (复核) may be asked for (Article 36)."""
    return after_days(review_answered_at, REREVIEW_REQUEST_DAYS, tz)


def rereview_answer_due(requested_at: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    return after_days(requested_at, REREVIEW_ANSWER_DAYS, tz)


def may_request(due: dt.datetime, now: dt.datetime) -> bool:
    return now < due


def accepts_again(*, rereviewed: bool) -> bool:
    """Whether the same matter on the same facts may be accepted again: not after a re-review."""
    return not rereviewed


@dataclass(frozen=True)
class Clock:
    phase: str  # "accept", "handle", "review", "rereview" or "stopped"
    due: dt.datetime | None
    overdue: bool
    due_soon: bool
    remaining: dt.timedelta | None

    @property
    def days_left(self) -> int | None:
        """Whole calendar days left (negative when overdue), for display."""
        if self.remaining is None:
            return None
        return self.remaining.days


def clock(
    *,
    petition: bool,
    accept_due: dt.datetime,
    accepted_at: dt.datetime | None,
    handle_due: dt.datetime | None,
    stopped: bool,
    now: dt.datetime,
) -> Clock:
    """Which deadline a case is running against now. A petition's clock stops at its written
    reply, an event's at its resolution; a declined or closed case has stopped too."""
    if stopped:
        return Clock("stopped", None, False, False, None)
    due: dt.datetime | None = accept_due
    phase = "accept"
    if accepted_at is not None:
        phase, due = "handle", handle_due
    if due is None:
        return Clock(phase, None, False, False, None)
    remaining = due - now
    margin = PETITION_DUE_SOON if petition else EVENT_DUE_SOON
    return Clock(phase, due, remaining <= dt.timedelta(0), dt.timedelta(0) < remaining <= margin, remaining)


def review_clock(*, level: str, due: dt.datetime, now: dt.datetime) -> Clock:
    """A review (复查) or re-review (复核) under way: its 30 days to answer (Articles 35–36)."""
    remaining = due - now
    return Clock(level, due, remaining <= dt.timedelta(0), dt.timedelta(0) < remaining <= PETITION_DUE_SOON, remaining)


def local_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
