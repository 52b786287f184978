"""Checking a ``--state`` file before the SDK reads it, so a bad one is one clear line."""

from __future__ import annotations

import json


def state_file_problem(text: str) -> str | None:
    """Check the shape of a state file.

    Args:
        text: The file's content.

    Returns:
        What is wrong with it, or None when it is usable.
    """
    if not text.strip():
        return None  # an empty file is an empty state, as for a first run
    try:
        state = json.loads(text)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(state, dict):
        return "the state must be a JSON object"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict) or not all(isinstance(b, dict) for b in bookmarks.values()):
        return "'bookmarks' must map stream names to objects"
    return None
