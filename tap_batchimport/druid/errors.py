"""DruID error messages: the vendor's own words."""

from __future__ import annotations

import typing as t

from tap_batchimport.http.error_bodies import json_error_detail

if t.TYPE_CHECKING:
    import requests

#: Where DruID and its OAuth2 server put a message: the OAuth2 error fields and a plain
#: ``message`` at the top, and the ``result`` part of the API envelope
#: (``{result: {status, message}}``).
_TOP_KEYS = ("error", "error_description", "message")
_ENVELOPE_MESSAGE = ("result", "message")


def error_detail(response: requests.Response) -> str:
    """Pull DruID's message out of an error response (API or token endpoint).

    Args:
        response: The error response.

    Returns:
        One line (masked and shortened by the client).
    """
    return json_error_detail(response, _TOP_KEYS, nested=_ENVELOPE_MESSAGE)
