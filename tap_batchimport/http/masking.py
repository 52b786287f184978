"""Keeping credentials out of every message, whole or in part, in any encoding we can know.

A secret can come back from a vendor (or a proxy) as sent, URL-encoded (a token request's
form body echoed), or base64-encoded (a ``Basic`` header echoed), and a message may be
shortened anywhere. So a message is masked before it is shortened, every known encoded
form is masked, and what is left is searched for any piece of a secret at least
:data:`PIECE_CHARS` long.
"""

from __future__ import annotations

import base64
import re
import threading
import typing as t
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import requests

#: What a masked secret (or piece of one) is shown as.
MASK = "***"
#: Form fields of a request body whose values no message may show.
_SECRET_FIELD_HINTS = ("secret", "password", "token", "key")
#: Shorter strings are not masked: they would mangle ordinary words.
_MIN_MASKED_LENGTH = 4
#: No run of this many characters of a secret (or of an encoded form of it) may show.
PIECE_CHARS = 10
#: Longest vendor message kept in an error line (cut after masking, never before).
MAX_DETAIL_CHARS = 300

_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def _lower_escapes(text: str) -> str:
    return _PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), text)


def _base64_cores(raw: bytes) -> set[str]:
    """Base64 text that only the secret's bytes determine, at each of the 3 alignments.

    A secret encoded inside a longer value (``client_id:client_secret``) starts at any
    byte offset modulo 3; the characters it shares with its neighbours differ, the others
    do not. Character ``i`` covers bits ``6i..6i+5``: it is the secret's alone when those
    bits lie within the secret's ``8k..8k+8n`` (``k`` bytes before it).
    """
    cores: set[str] = set()
    for before in range(3):
        bits_start, bits_end = 8 * before, 8 * (before + len(raw))
        first, last = -(-bits_start // 6), bits_end // 6  # chars [first, last)
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * before + raw).decode("ascii")
            cores.add(text[first:last])
    return cores


@lru_cache(maxsize=256)
def secret_forms(secret: str) -> frozenset[str]:
    """Every form of a secret a message might carry.

    Args:
        secret: A credential or token.

    Returns:
        The secret as is, URL-encoded (``quote``/``quote_plus``, ``%XX`` in upper and lower
        case) and base64-encoded (standard and URL-safe, with and without padding, and the
        part of it fixed at any byte alignment).
    """
    forms = {secret}
    for encoded in (quote(secret, safe=""), quote_plus(secret, safe=""), quote(secret)):
        forms |= {encoded, _lower_escapes(encoded)}
    raw = secret.encode("utf-8")
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        padded = encode(raw).decode("ascii")
        forms |= {padded, padded.rstrip("=")}
    forms |= _base64_cores(raw)
    return frozenset(f for f in forms if len(f) >= _MIN_MASKED_LENGTH)


@lru_cache(maxsize=256)
def _pieces(form: str) -> frozenset[str]:
    return frozenset(form[i : i + PIECE_CHARS] for i in range(len(form) - PIECE_CHARS + 1))


class SecretSet:
    """The secrets one masking pass looks for, with their forms and pieces worked out once."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        """Work out the forms and pieces.

        Args:
            secrets: Strings that must never be shown (None and short ones are ignored).
        """
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= _MIN_MASKED_LENGTH:
                forms |= secret_forms(secret)
        # Longest first, so a header value is masked whole before the token inside it.
        self.forms = sorted(forms, key=len, reverse=True)
        self.pieces = frozenset().union(*(_pieces(f) for f in forms))

    def mask(self, text: str) -> str:
        """Replace every form of every secret, then every piece of one left, by ``***``.

        Args:
            text: A message about to be logged, raised or written.

        Returns:
            The message, masked.
        """
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return self._mask_pieces(text) if self.pieces else text

    def _mask_pieces(self, text: str) -> str:
        # A piece left over is a secret shown in part (cut by the vendor, or split by a
        # character it inserted): every run of characters covered by pieces goes.
        pieces = self.pieces
        hidden_until = -1
        spans: list[tuple[int, int]] = []
        for start in range(len(text) - PIECE_CHARS + 1):
            if text[start : start + PIECE_CHARS] in pieces:
                end = start + PIECE_CHARS
                if spans and start <= hidden_until:
                    spans[-1] = (spans[-1][0], end)
                else:
                    spans.append((start, end))
                hidden_until = end
        if not spans:
            return text
        out: list[str] = []
        shown_from = 0
        for start, end in spans:
            out += [text[shown_from:start], MASK]
            shown_from = end
        out.append(text[shown_from:])
        return "".join(out)


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every secret (in any known form, whole or in part) in a message by ``***``.

    Args:
        text: A message about to be logged or raised.
        secrets: Strings that must never be shown.

    Returns:
        The message, masked.
    """
    return SecretSet([*secrets, *KNOWN_SECRETS]).mask(text)


def masked_line(text: str, secrets: Iterable[str | None], limit: int = MAX_DETAIL_CHARS) -> str:
    """A vendor's message as one masked line of at most ``limit`` characters.

    Masking comes first: a secret cut in two by the shortening would no longer match.

    Args:
        text: The vendor's message, whole.
        secrets: Strings that must never be shown (the run's known secrets are added).
        limit: Longest line kept.

    Returns:
        The masked, single, short line.
    """
    known = SecretSet([*secrets, *KNOWN_SECRETS])
    line = " ".join(known.mask(str(text)).split())[:limit]
    return known.mask(line)  # a piece the whitespace collapse joined back together


def request_secrets(request: requests.PreparedRequest | None) -> list[str]:
    """The credentials a request carried: its ``Authorization`` value and secret form fields.

    Args:
        request: The request that was sent.

    Returns:
        Strings no message about its answer may show.
    """
    if request is None:
        return []
    found: list[str] = []
    header = request.headers.get("Authorization")
    if header:
        found += [header, header.partition(" ")[2].strip()]
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and "x-www-form-urlencoded" in request.headers.get("Content-Type", ""):
        found += [
            value
            for name, value in parse_qsl(body)
            if any(hint in name.lower() for hint in _SECRET_FIELD_HINTS)
        ]
    return found


class SecretRegistry:
    """Every secret this process knows: configured credentials and the tokens it fetched.

    A token is registered the moment it arrives, so a message about any later answer, or
    any log line at all (see :class:`MaskingLogRecords`), masks it, even once replaced.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._set = SecretSet(())

    def add(self, secret: str | None) -> None:
        """Register a secret (blank and short values are ignored).

        Args:
            secret: A credential or token.
        """
        if not secret or len(secret) < _MIN_MASKED_LENGTH or secret in self._secrets:
            return
        with self._lock:
            if secret not in self._secrets:
                # Replaced, never changed in place: readers iterate without the lock.
                self._secrets = (*self._secrets, secret)
                self._set = SecretSet(self._secrets)

    def __iter__(self) -> Iterator[str]:
        """Iterate over the registered secrets."""
        return iter(self._secrets)

    def mask(self, text: str) -> str:
        """Mask every registered secret in a text.

        Args:
            text: Any text about to be written.

        Returns:
            The text, masked.
        """
        return self._set.mask(text)


#: The process's secrets (one tap run per process).
KNOWN_SECRETS = SecretRegistry()
