"""The one JSON-schema type of an open object: keys that belong to the vendor or the user.

Typed ``{"type": ["object", "null"], "additionalProperties": true}`` and nothing else, as
the contract says. In particular no ``properties`` key, not even an empty one: the SDK's
schema flattening (``flattening_enabled`` on the tap or on an SDK target) recurses into
any object that has ``properties`` and keeps only the keys listed there, so an open object
declared with ``"properties": {}`` loses every key and its column silently vanishes.
Without the key, flattening keeps the object whole as one JSON value, and typed targets
load it as one JSON column (jsonb in PostgreSQL, JSON in DuckDB).

``th.ObjectType(additional_properties=True)`` always writes ``"properties": {}``, hence
this custom type.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

#: The schema of every open object (copied on use: schemas get mutated downstream).
OPEN_OBJECT_SCHEMA: dict[str, t.Any] = {
    "type": ["object", "null"],
    "additionalProperties": True,
}


def open_object() -> th.CustomType:
    """A nullable object whose keys are not known in advance, kept whole by flattening."""
    return th.CustomType(dict(OPEN_OBJECT_SCHEMA))
