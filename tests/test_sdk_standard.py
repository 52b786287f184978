"""The SDK's standard tap tests, run against the local emulator's demo data."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from emulator.server import VendorEmulator
from tap_batchimport.tap import TapBatchImport
from tests import fullstory_data

# The test class is built at import time, so the emulator must already be serving.
_emulator = VendorEmulator().start()
_emulator.dataset.fullstory_jobs.extend(fullstory_data.jobs())
atexit.register(_emulator.stop)

TestTapBatchImport = get_tap_test_class(
    tap_class=TapBatchImport,
    config=fullstory_data.config(_emulator),
    suite_config=SuiteConfig(
        ignore_no_records_for_streams=["bulk_results", "config_import_results"]
    ),
)
