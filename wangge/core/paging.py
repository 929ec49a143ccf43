"""Lists paged without counting them: a page is read as ``size + 1`` rows, and the extra row says
whether there is a next one. Counting a district's 19,000 running leases (twice) cost more than
the page itself; the template ``web/_pager.html`` shows the previous/next links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

PAGE_SIZE = 50


@dataclass
class Slice:
    """One page of a list."""

    rows: list[Any]
    number: int
    has_previous: bool
    has_next: bool


def page_of(queryset: QuerySet[Any], wanted: str | None, *, size: int = PAGE_SIZE) -> Slice:
    """The page numbered ``wanted`` (from the query string; anything else is page 1)."""
    try:
        number = max(1, int(wanted or 1))
    except ValueError:
        number = 1
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return Slice(rows[:size], number, number > 1, len(rows) > size)


def pager_links(request: HttpRequest, page: Slice, name: str) -> dict[str, str]:
    """The previous and next pages' query strings for the list paged by ``name``, keeping the
    rest of the query (filters, another list's page)."""
    links = {}
    for key, wanted, number in (
        ("previous", page.has_previous, page.number - 1),
        ("next", page.has_next, page.number + 1),
    ):
        if wanted:
            query = request.GET.copy()
            query[name] = str(number)
            links[key] = "?" + query.urlencode()
    return links
