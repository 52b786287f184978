"""Flattening an SP-Config import result document into one record per message or object.

The document is ``{results: {<OBJECT_TYPE>: {infos, warnings, errors, importedObjects}},
exportJobId?}``; SailPoint's own example nests the map one level deeper
(``{results: {results: {<OBJECT_TYPE>: ...}}}``), so both shapes are read.
"""

from __future__ import annotations

import typing as t

from tap_batchimport.sailpoint.values import as_text

if t.TYPE_CHECKING:
    from collections.abc import Iterator

#: Result list -> ``category``, in the order records are emitted.
MESSAGE_LISTS = {"infos": "info", "warnings": "warning", "errors": "error"}
IMPORTED_OBJECTS = "importedObjects"
IMPORTED_OBJECT = "imported_object"
RESULT_LISTS = (*MESSAGE_LISTS, IMPORTED_OBJECTS)
#: Fields of a message or an imported object (null in the other kind of record).
FIELDS = (
    "key",
    "text",
    "details",
    "imported_object_type",
    "imported_object_id",
    "imported_object_name",
)


class MalformedResultError(ValueError):
    """The document's ``results`` is not a map of object types."""


def _looks_like_entry(value: t.Any) -> bool:  # noqa: ANN401
    """Whether a value is one object type's result (``{infos: [...], ...}``)."""
    return isinstance(value, dict) and (
        not value
        or any(k in value for k in RESULT_LISTS)
        or all(isinstance(v, list) for v in value.values())
    )


def object_type_map(document: dict[str, t.Any]) -> dict[str, t.Any]:
    """The ``{<OBJECT_TYPE>: result}`` map of a download, in either shape.

    Args:
        document: The decoded download body (it has a ``results`` key).

    Returns:
        The map of object types.

    Raises:
        MalformedResultError: If ``results`` is not an object, or holds an object type
            whose result is not one (its messages would be lost without a word).
    """
    results = document.get("results")
    if not isinstance(results, dict):
        msg = f"'results' is {type(results).__name__}, not an object"
        raise MalformedResultError(msg)
    inner = results.get("results")
    # The seed's doubly nested shape: a single key `results` holding a map of entries (an
    # object type literally named "results" would hold lists, not entries).
    if (
        len(results) == 1
        and isinstance(inner, dict)
        and not any(k in inner for k in RESULT_LISTS)
        and all(_looks_like_entry(v) for v in inner.values())
    ):
        results = inner
    for object_type, entry in results.items():
        if entry is not None and not isinstance(entry, dict):
            msg = f"the result of {object_type} is {type(entry).__name__}, not an object"
            raise MalformedResultError(msg)
    return results


def _details(message: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """``details`` (schema) or ``detail`` (SailPoint's example): an object or null.

    Anything else (a string, a list, a number) is kept as ``{"value": ...}`` so the column
    stays an object and nothing the vendor said is lost.
    """
    value = message.get("details")
    if value is None:
        value = message.get("detail")
    if value is None or isinstance(value, dict):
        return value
    return {"value": value}


def _as_list(entry: dict[str, t.Any], name: str) -> list[t.Any]:
    value = entry.get(name)
    # A missing list is an empty one; a lone item (not a list) is a one-item list.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def flatten(job_id: str, document: dict[str, t.Any]) -> Iterator[dict[str, t.Any]]:
    """One record per message and per imported object of a result document.

    Object types in document order; within one, infos, warnings, errors, then imported
    objects, each numbered by its ``position`` in its own list. The document's shape is
    checked before the first record, so a malformed one yields nothing.

    Args:
        job_id: The import job's id.
        document: The decoded download body.

    Returns:
        An iterator of ``config_import_results`` records.
    """
    return _records(job_id, as_text(document.get("exportJobId")), object_type_map(document))


def _records(
    job_id: str, export_job_id: str | None, types: dict[str, t.Any]
) -> Iterator[dict[str, t.Any]]:
    def record(object_type: str, category: str, position: int, **fields: t.Any) -> dict[str, t.Any]:  # noqa: ANN401
        return {
            "job_id": job_id,
            "export_job_id": export_job_id,
            "object_type": object_type,
            "category": category,
            "position": position,
            **dict.fromkeys(FIELDS, None),
            **fields,
        }

    for object_type, entry in types.items():
        if not isinstance(entry, dict):
            continue
        for name, category in MESSAGE_LISTS.items():
            for position, item in enumerate(_as_list(entry, name)):
                message = item if isinstance(item, dict) else {"text": item}
                yield record(
                    object_type,
                    category,
                    position,
                    key=as_text(message.get("key")),
                    text=as_text(message.get("text")),
                    details=_details(message),
                )
        for position, item in enumerate(_as_list(entry, IMPORTED_OBJECTS)):
            imported = item if isinstance(item, dict) else {"id": item}
            yield record(
                object_type,
                IMPORTED_OBJECT,
                position,
                imported_object_type=as_text(imported.get("type")),
                imported_object_id=as_text(imported.get("id")),
                imported_object_name=as_text(imported.get("name")),
            )
