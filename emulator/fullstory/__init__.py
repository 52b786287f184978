"""Fullstory Server API v2 batch imports: the jobs (:mod:`.jobs`) and their routes (:mod:`.app`)."""

from __future__ import annotations

from emulator.fullstory.app import FullstoryApp
from emulator.fullstory.jobs import PROCESSING, FullstoryJob

__all__ = ["PROCESSING", "FullstoryApp", "FullstoryJob"]
