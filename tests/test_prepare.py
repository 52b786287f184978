"""Requests prepared by http/prepare.py are the ones ``Session.prepare_request`` makes."""

from __future__ import annotations

import pytest
import requests

from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.http.prepare import prepare, prepared_base_url
from tap_batchimport.http.redirects import SameOriginSession

BASES = [
    "https://api.fullstory.com",
    "https://api.example.com/prefix/",
    "https://bücher.example/some path",
    "http://127.0.0.1:8080",
]
PARAMS = [
    {},
    {"page_token": "abc"},
    {"page_token": "a b/c?d=e&f", "limit": 1000, "failedOnly": "true"},
    {"last": "ünï", "ids": ["a", "b"]},
]
ENDPOINT = Endpoint("/v2/users/batch/{job_id}/errors")


def reference(session: requests.Session, method: str, url: str, params, headers):
    return session.prepare_request(requests.Request(method, url, params=params, headers=headers))


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("method", ["GET", "POST", "get"])
def test_same_request_as_requests_prepares(base, params, method):
    session = SameOriginSession()
    headers = {"Accept": "application/json", "User-Agent": "tap-batchimport"}
    job_id = "job 1/ü"
    ours = prepare(
        session, method, ENDPOINT.url(prepared_base_url(base), job_id=job_id), params, headers
    )
    theirs = reference(session, method, ENDPOINT.url(base, job_id=job_id), params, headers)
    assert ours.method == theirs.method
    assert ours.url == theirs.url
    assert dict(ours.headers) == dict(theirs.headers)
    assert ours.body == theirs.body
    assert ours.hooks == theirs.hooks


def test_session_cookies_go_with_the_request_as_requests_sends_them():
    session = SameOriginSession()
    session.cookies.set("lb", "node-3", domain="api.example.com", path="/")
    url = "https://api.example.com/v1/x"
    ours = prepare(session, "GET", url, {}, {})
    theirs = reference(session, "GET", url, {}, {})
    assert ours.headers["Cookie"] == theirs.headers["Cookie"] == "lb=node-3"
    # Each request has its own jar: a redirect's cookies never leak into the session's.
    ours_jar = ours._cookies
    assert ours_jar is not None
    assert ours_jar is not session.cookies


def test_netrc_credentials_never_go_with_a_vendor_request(tmp_path, monkeypatch):
    # requests reads ~/.netrc per request (a disk read each time); every vendor request
    # gets the vendor's own credentials instead, so a request prepared here never has them.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example.com login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = SameOriginSession()
    url = "https://api.example.com/x"
    assert "Authorization" in reference(session, "GET", url, {}, {}).headers
    assert "Authorization" not in prepare(session, "GET", url, {}, {}).headers
