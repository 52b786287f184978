"""The SDK's standard tap tests, run against the emulator's demo data for all three vendors."""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from emulator.scenarios import demo_dataset, demo_tap_config
from emulator.server import VendorEmulator
from tap_batchimport.tap import TapBatchImport

# The test class is built at import time, so the emulator must already be serving.
_emulator = VendorEmulator(demo_dataset()).start()
atexit.register(_emulator.stop)

TestTapBatchImport = get_tap_test_class(
    tap_class=TapBatchImport,
    config=demo_tap_config(_emulator),
)
