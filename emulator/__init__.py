"""Local emulator of the Fullstory, DruID and SailPoint batch-import APIs.

It follows ``vendor-apis.md``: tests, the demo and the benchmarks run the tap against it.
Standard library only.
"""

from __future__ import annotations

from emulator import faults
from emulator.bench import NightlySeries, bench_sailpoint_dataset
from emulator.druid import DruidBulk
from emulator.faults import Fault, FaultPlan
from emulator.fullstory import FullstoryJob
from emulator.limits import SAILPOINT_RATE_LIMIT, RateLimit
from emulator.sailpoint import SailpointJob
from emulator.scenarios import (
    DEMO_CONFIG_IDS,
    bench_druid_dataset,
    bench_fullstory_dataset,
    demo_dataset,
    demo_tap_config,
    tap_config,
)
from emulator.server import Dataset, RequestRecord, VendorEmulator

__all__ = [
    "DEMO_CONFIG_IDS",
    "SAILPOINT_RATE_LIMIT",
    "Dataset",
    "DruidBulk",
    "Fault",
    "FaultPlan",
    "FullstoryJob",
    "NightlySeries",
    "RateLimit",
    "RequestRecord",
    "SailpointJob",
    "VendorEmulator",
    "bench_druid_dataset",
    "bench_fullstory_dataset",
    "bench_sailpoint_dataset",
    "demo_dataset",
    "demo_tap_config",
    "faults",
    "tap_config",
]
