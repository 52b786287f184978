"""DruID bulk user API: the bulks (:mod:`.jobs`) and their routes (:mod:`.app`)."""

from __future__ import annotations

from emulator.druid.app import DruidApp
from emulator.druid.jobs import FINISHED, DruidBulk

__all__ = ["FINISHED", "DruidApp", "DruidBulk"]
