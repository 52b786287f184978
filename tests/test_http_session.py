"""The tap's session resolves environment proxies once per origin, as requests would each time."""

from __future__ import annotations

import typing as t

import pytest
import requests
from requests.utils import resolve_proxies

from tap_batchimport.http.redirects import SameOriginSession

URLS = (
    "https://api.fullstory.com/v2/users/batch/J1",
    "https://api.fullstory.com/v2/users/batch/J1/errors?page_token=x",
    "http://127.0.0.1:8080/druid/activityid/v1/user/bulk/B1",
    "https://tenant.api.identitynow.com/oauth/token",
)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, t.Any]]:
    """The keyword arguments of every send that reached requests (nothing goes out)."""
    calls: list[dict[str, t.Any]] = []

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: t.Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    return calls


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTPS_PROXY": "http://proxy.example:3128"},
        {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "identitynow.com"},
        {"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": "127.0.0.1"},
        {"ALL_PROXY": "socks5://proxy.example:1080"},
    ],
    ids=["none", "https", "https-no-proxy", "http-no-loopback", "all"],
)
def test_proxies_are_those_requests_resolves_per_request(
    monkeypatch: pytest.MonkeyPatch, sent: list[dict[str, t.Any]], environment: dict[str, str]
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        for variant in (name, name.lower()):
            monkeypatch.delenv(variant, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    session = SameOriginSession()
    prepared = [session.prepare_request(requests.Request("GET", url)) for url in URLS * 2]
    for request in prepared:
        session.send(request)
    expected = [resolve_proxies(request, {}, trust_env=True) for request in prepared]
    assert [call["proxies"] for call in sent] == expected


def test_explicit_proxies_are_left_alone(sent: list[dict[str, t.Any]]) -> None:
    session = SameOriginSession()
    request = session.prepare_request(requests.Request("GET", URLS[0]))
    session.send(request, proxies={"https": "http://chosen.example:3128"})
    assert sent == [{"proxies": {"https": "http://chosen.example:3128"}}]
