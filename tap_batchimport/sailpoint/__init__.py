"""SailPoint Identity Security Cloud: SP-Config import results (placeholder until the vendor lands)."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

SETTINGS = th.PropertiesList()
STREAMS: tuple[type, ...] = ()
VENDOR: t.Any = None

__all__ = ["SETTINGS", "STREAMS", "VENDOR"]
