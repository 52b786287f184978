"""``job_details``: the status of every job this run looks at, synced after the results.

The tap syncs this stream last on purpose (see ``TapBatchImport.load_streams``): a job's
record then says what the results streams found (a SailPoint result already deleted),
and writing a finished job's record is what settles it in the job ledger.
"""

from __future__ import annotations

import sys
import typing as t
from functools import partial

from singer_sdk import typing as th

from tap_batchimport.conform import FAIL, MalformedRowError, as_json
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.open_object import open_object
from tap_batchimport.results_stream import BatchImportStream
from tap_batchimport.timestamps import now_iso

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

    from tap_batchimport.tracker import TrackedJob
    from tap_batchimport.vendor import Vendor


class JobDetailsStream(BatchImportStream):
    """One record per job: when first seen, on every run while pending, once when settled."""

    name = "job_details"
    primary_keys = ("source", "job_id")
    schema = th.PropertiesList(
        th.Property(
            "source",
            th.StringType,
            required=True,
            description="fullstory_users, fullstory_events, druid or sailpoint",
        ),
        th.Property("job_id", th.StringType, required=True, description="The vendor's job id"),
        th.Property(
            "status",
            th.StringType,
            required=True,
            description="The vendor's status verbatim; NOT_FOUND when the vendor answers 404",
        ),
        th.Property(
            "is_finished",
            th.BooleanType,
            required=True,
            description="The vendor says the job will not change again",
        ),
        th.Property("created", th.DateTimeType, description="When the job was created"),
        th.Property("finished", th.DateTimeType, description="When it finished (null until then)"),
        th.Property("imports", th.IntegerType, description="Rows imported, if the vendor says"),
        th.Property("errors", th.IntegerType, description="Rows that failed, if the vendor says"),
        th.Property("message", th.StringType, description="The vendor's message about the job"),
        th.Property("type", th.StringType, description="SailPoint: job type (IMPORT)"),
        th.Property("modified", th.DateTimeType, description="SailPoint: last modification"),
        th.Property(
            "expiration",
            th.DateTimeType,
            description="SailPoint: when the result stops being downloadable",
        ),
        th.Property(
            "result_expired",
            th.BooleanType,
            description="SailPoint: the job completed but its result is no longer downloadable",
        ),
        th.Property(
            "row_count_mismatch",
            # Keyed by stream, one JSON object: an array of objects would be jsonb[] in
            # PostgreSQL (MeltanoLabs target-postgres), awkward to query.
            open_object(),
            description=(
                "Fullstory: results lists this run read more rows from than their "
                "total_records, {stream: {total_records, rows_read}} (null when every list "
                "matched)"
            ),
        ),
        th.Property(
            "given_up",
            th.BooleanType,
            description=(
                "The tap stopped waiting for this job: still not finished after "
                "job_max_pending_days (see the job ledger)"
            ),
        ),
        th.Property(
            "last_error",
            th.StringType,
            description=(
                "Why the last attempt to read the job failed (one line, no secret); null when "
                "this run's attempt did not fail"
            ),
        ),
        th.Property(
            "failed_attempts",
            th.IntegerType,
            description="Runs in a row that failed to read the job (0 when this one did not)",
        ),
        th.Property(
            "vendor_status",
            open_object(),
            description="The vendor's status answer as received (its other fields included)",
        ),
    ).to_dict()

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        run = self.run
        ledger = run.ledger
        # Last chance for jobs not finished yet: read them as they finish, while time is
        # left (the results streams have already read every job that was ready).
        run.wait_for_late_jobs()
        for vendor in run.vendors:
            jobs = run.jobs(vendor)
            # time_extracted: now (the statuses were read by this run, before its results).
            self.page_read_at = now_iso()
            for job in jobs:
                ref = job.ref
                record = self._fitted(
                    vendor, job, vendor.job_record(job.status, ledger.entry(ref) or {})
                )
                error = run.job_errors.get(ref)
                if error is None:
                    ledger.clear_failure(ref)
                entry = ledger.entry(ref) or {}
                record["given_up"] = job.given_up or ref in run.gave_up
                record["last_error"] = error
                record["failed_attempts"] = ledger.failures(entry) if error else 0
                yield record
                # Once the record is out, a finished job is settled.
                self.after_rows(partial(run.settle_if_complete, job))

    def _fitted(
        self, vendor: Vendor, job: TrackedJob, record: dict[str, t.Any]
    ) -> dict[str, t.Any]:
        # The vendor's status values fit their declared types, or are kept aside (and, under
        # schema_mismatch_policy fail, fail the job: its record still says how it stands).
        try:
            record, found = self.conformer.conform(record)
        except MalformedRowError as exc:  # the tap builds the keys: a bug, not vendor data
            msg = f"job_details record of {job.ref.source} job {job.ref.job_id}: {exc}"
            raise RuntimeError(msg) from None
        if found is None or not found.mismatches:
            return record
        run = self.run
        run.summary.add_misfits(vendor, self.name, len(found.mismatches), 0)
        path, seen = next(iter(found.mismatches.items()))
        what = f"field {path} is {as_json(seen['value'])}, expected {seen['expected']}"
        if run.mismatch_policy == FAIL and job.ref not in run.job_errors:
            detail = f"{what} (schema_mismatch_policy is fail)"
            endpoint = vendor.status_endpoint_name(job.ref)
            run.job_failed(
                vendor, job.ref, VendorAPIError(vendor.display_name, endpoint, 200, detail)
            )
        else:
            self.logger.warning(
                "%s job %s: %d status value(s) did not fit the schema and are kept in "
                "schema_mismatches, the typed field null (first: %s)",
                vendor.display_name,
                job.ref.job_id,
                len(found.mismatches),
                what,
            )
        return record
