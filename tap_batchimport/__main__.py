"""Allow ``python -m tap_batchimport``."""

from __future__ import annotations

from tap_batchimport.tap import TapBatchImport

TapBatchImport.cli()
