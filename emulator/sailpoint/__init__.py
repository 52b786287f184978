"""SailPoint SP-Config imports: the jobs (:mod:`.jobs`) and their routes (:mod:`.app`)."""

from __future__ import annotations

from emulator.sailpoint.app import SailpointApp, detail_body
from emulator.sailpoint.jobs import COMPLETE, SailpointJob

__all__ = ["COMPLETE", "SailpointApp", "SailpointJob", "detail_body"]
