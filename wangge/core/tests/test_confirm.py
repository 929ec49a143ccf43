"""The confirmation page carries the form over, unchanged, and acts only on ``confirmed=1``."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory

from wangge.conftest import World
from wangge.core import confirm


def _request(data: dict, *, referer: str = "") -> object:
    factory = RequestFactory()
    request = factory.post("/somewhere/do/", data, HTTP_REFERER=referer)
    return request


def test_it_repeats_every_field_and_adds_the_confirmation(world: World) -> None:
    request = _request({"mode": "rebalance", "ids": ["1", "2"], "csrfmiddlewaretoken": "x"})
    request.user = world.user("district_admin")  # type: ignore[attr-defined]
    response: HttpResponse = confirm.ask(
        request,  # type: ignore[arg-type]
        title="确认？",
        consequences=["35 户调整到其他网格", ""],
        button="确认调整",
    )
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert 'action="/somewhere/do/"' in html and "35 户调整到其他网格" in html
    assert html.count("<li>35 户") == 1 and "<li></li>" not in html
    assert 'name="mode" value="rebalance"' in html
    assert 'name="ids" value="1"' in html and 'name="ids" value="2"' in html
    assert 'name="confirmed" value="1"' in html and 'value="x"' not in html
    assert 'href="/"' in html  # no safe referer: back home


def test_it_goes_back_only_to_a_page_of_this_site(world: World) -> None:
    request = _request({}, referer="https://evil.example/")
    request.user = world.user("guardian")  # type: ignore[attr-defined]
    html = confirm.ask(request, title="t", consequences=["c"], button="b").content.decode()  # type: ignore[arg-type]
    assert "evil.example" not in html
    request = _request({}, referer="http://testserver/residents/5/")
    request.user = world.user("guardian")  # type: ignore[attr-defined]
    html = confirm.ask(request, title="t", consequences=["c"], button="b").content.decode()  # type: ignore[arg-type]
    assert 'href="http://testserver/residents/5/"' in html


def test_it_counts_as_confirmed_only_with_the_field_set_to_one() -> None:
    assert confirm.confirmed(_request({"confirmed": "1"}))  # type: ignore[arg-type]
    assert not confirm.confirmed(_request({"confirmed": "yes"}))  # type: ignore[arg-type]
    assert not confirm.confirmed(_request({}))  # type: ignore[arg-type]
