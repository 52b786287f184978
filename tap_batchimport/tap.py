"""tap-batchimport: the tap (the entry point), its settings and its streams."""

from __future__ import annotations

import difflib
import io
import sys
import typing as t
from functools import cached_property

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from tap_batchimport import druid, fullstory, log_masking, sailpoint
from tap_batchimport.batch_files import BatchFileError
from tap_batchimport.batch_settings import BATCH_SETTINGS, batch_config_errors
from tap_batchimport.connection_test import connection_test_config, run_connection_test
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.http.masking import KNOWN_SECRETS, mask
from tap_batchimport.interrupt import SignalSafeWriter, handle_termination, write_final_state
from tap_batchimport.job_details import JobDetailsStream
from tap_batchimport.job_ids_file import JobIdsFileError, read_job_ids_file
from tap_batchimport.run import Run
from tap_batchimport.sdk_private import SdkTap
from tap_batchimport.settings import COMMON_SETTINGS
from tap_batchimport.state_file import state_file_problem

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    import click
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.streams import Stream

    from tap_batchimport.jobs import JobRef
    from tap_batchimport.ledger import JobLedger

#: Vendor packages in extraction order: each exports SETTINGS, STREAMS, VENDOR.
VENDOR_PACKAGES = (fullstory, druid, sailpoint)

#: Every vendor class, in extraction order.
VENDOR_TYPES = tuple(package.VENDOR for package in VENDOR_PACKAGES)

#: Every ``job_details.source``.
SOURCES = frozenset(source for vendor in VENDOR_TYPES for source in vendor.sources())


def _settings(*lists: th.PropertiesList) -> dict[str, t.Any]:
    merged = th.PropertiesList()
    for properties in lists:
        for prop in properties.wrapped.values():
            merged.append(prop)
    return merged.to_dict()


class TapBatchImport(SdkTap):
    """Results of asynchronous batch-import jobs: Fullstory, DruID, SailPoint ISC."""

    name = "tap-batchimport"
    package_name = "tap-batchimport"

    #: Page-buffered output that a SIGTERM cannot cut mid-line (see interrupt.py).
    message_writer_class = SignalSafeWriter

    #: No ACTIVATE_VERSION: state is per job and per page, see ledger.py. BATCH: jsonl
    #: files on a local disk, each announced before the state claims its rows (docs/batch.md).
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.BATCH,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = _settings(
        *(package.SETTINGS for package in VENDOR_PACKAGES), COMMON_SETTINGS, BATCH_SETTINGS
    )

    #: The tap the CLI runs, so that a fatal error can still end with a final STATE.
    _running: t.ClassVar[TapBatchImport | None] = None

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the tap (arguments as for ``singer_sdk.Tap``).

        Args:
            *args: Positional arguments of ``Tap``.
            **kwargs: Keyword arguments of ``Tap``.
        """
        self.run: Run | None = None
        log_masking.install()
        super().__init__(*args, **kwargs)
        self._register_secrets()
        TapBatchImport._running = self

    def _new_run(self, config: Mapping[str, t.Any]) -> Run:
        return Run(
            config,
            self.logger,
            [vendor_type(config, self.logger) for vendor_type in VENDOR_TYPES],
            from_file=self._jobs_of_file(),
        )

    @override
    def discover_streams(self) -> list[Stream]:
        run = self.run = self._new_run(self.config)
        results = sorted(
            (stream_type(self, run) for p in VENDOR_PACKAGES for stream_type in p.STREAMS),
            key=lambda stream: stream.name,
        )
        job_details = JobDetailsStream(self, run)
        run.attach(job_details, results)
        run.write_state = lambda: self.state_writer.write_state(self.state)
        # In sync order, by design: job_details after the results streams (see load_streams).
        return [*results, job_details]

    @override
    def state_ledger(self) -> JobLedger | None:
        return self.run.built_ledger() if self.run is not None else None

    @override
    def before_sync(self) -> None:
        # Named jobs enter the ledger first: the first STATE then already remembers them,
        # before any request about them.
        _ = self.streams  # builds the run
        if self.run is not None and self.run.batch is not None:
            self._refuse_unbatchable_maps()
        if self.run is not None:
            self.run.enter_named_jobs()
            self.run.write_state()

    def _refuse_unbatchable_maps(self) -> None:
        # A batch file holds one stream's rows once; a stream map copying a stream into
        # several streams would need one file per copy. Refused before any request.
        for stream in self.streams.values():
            if stream.selected and len(stream.stream_maps) > 1:
                aliases = ", ".join(m.stream_alias for m in stream.stream_maps)
                msg = (
                    f"batch_config cannot be used with stream maps that copy {stream.name} "
                    f"into several streams ({aliases}): drop batch_config or those maps"
                )
                raise BatchFileError(msg)

    @cached_property
    def _job_ids_file(self) -> list[JobRef] | JobIdsFileError | None:
        # Read once: the config check reports a bad line, the run uses the jobs. The file
        # only ever grows (the importing step appends), so it is worth not reading twice.
        path = self.config.get("job_ids_file")
        if not path:
            return []
        try:
            return read_job_ids_file(str(path), SOURCES)
        except JobIdsFileError as exc:
            return exc

    def _jobs_of_file(self) -> list[JobRef]:
        refs = self._job_ids_file
        if isinstance(refs, JobIdsFileError):
            return []  # reported by the config check, before any request
        if refs is None:
            path = self.config.get("job_ids_file")
            self.logger.info("job_ids_file %s does not exist (yet): no new jobs from it", path)
            return []
        return refs

    @override
    def extra_config_errors(self) -> list[str]:
        # The JSON schema cannot express "all of a vendor's credentials or none", the
        # https/loopback rule or the job ids file's lines.
        errors = [e for vendor in VENDOR_TYPES for e in vendor.config_errors(self.config)]
        errors += batch_config_errors(self.config)
        if isinstance(self._job_ids_file, JobIdsFileError):
            errors.append(str(self._job_ids_file))
        return errors

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        self._warn_unknown_settings()  # first: a typo often explains the errors that follow
        return super()._validate_config(raise_errors=raise_errors)

    @override
    def mask_secrets(self, messages: list[str]) -> list[str]:
        secrets = self._register_secrets()
        return [mask(message, secrets) for message in messages]

    def _register_secrets(self) -> list[str]:
        # Secret settings are masked in every log line from the start (see log_masking).
        properties = self.config_jsonschema.get("properties", {})
        secrets = [
            str(value)
            for key, value in self.config.items()
            if value is not None and properties.get(key, {}).get("secret")
        ]
        for secret in secrets:
            KNOWN_SECRETS.add(secret)
            KNOWN_SECRETS.add(secret.strip())  # as sent
        return secrets

    def _warn_unknown_settings(self) -> None:
        # The SDK ignores keys it does not know, so a typo (`fullstory_api_kye`) would
        # silently disable a vendor. Only names are logged, never values.
        schema = dict(self.config_jsonschema)
        self.append_builtin_config(schema)
        known = set(schema.get("properties", {}))
        for key in sorted(set(self.config) - known):
            close = difflib.get_close_matches(key, known, n=1)
            self.logger.warning(
                "Unknown setting %r is ignored%s",
                key,
                f" (did you mean {close[0]!r}?)" if close else "",
            )

    @override
    def on_termination(self, signum: int) -> None:
        handle_termination(self, signum)

    def finish(self) -> None:
        """End a sync: a last STATE, the run summary, then a non-zero exit if anything failed."""
        run = self.run
        if run is None:
            return
        write_final_state(self)  # every run's output ends with a STATE after its records
        run.summary.log(self.logger, run.failures, run.job_errors)
        if run.failures or run.job_errors:
            parts = []
            if run.failures:
                parts.append(f"{', '.join(run.failures)} failed (the other vendors were extracted)")
            if run.job_errors:
                jobs = ", ".join(f"{ref.source} {ref.job_id}" for ref in run.job_errors)
                parts.append(
                    f"{len(run.job_errors)} job(s) failed and are tried again by the next "
                    f"run: {jobs}"
                )
            self.logger.error(
                "Run incomplete: %s; see the error line above for each", "; ".join(parts)
            )
            sys.exit(1)

    @classmethod
    @override
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> t.Any:
        # An unreadable config file is one line, not a traceback.
        try:
            return super().cb_config(ctx, param, value)
        except FileNotFoundError as exc:
            reason = str(exc)
        except ValueError as exc:
            reason = f"a config file is not valid JSON ({exc})"
        except TypeError:
            reason = "a config file must hold one JSON object"
        cls.logger.error("Cannot read --config: %s", reason)
        return ctx.exit(1)

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        # `--test` is a real connection test (see connection_test.py); `--test=schema`
        # stays the SDK's. Config errors are one line each.
        if value in {"schema", "disabled"}:
            super().cb_test(ctx, param, value)
            return
        config = ctx.params.get("config")
        try:
            tap = cls(
                config=getattr(config, "config", None),
                parse_env_config=bool(getattr(config, "parse_env", False)),
                validate_config=True,
            )
        except ConfigValidationError as exc:
            for error in exc.errors or [str(exc)]:
                cls.logger.error("Config validation failed: %s", error)  # noqa: TRY400
            ctx.exit(1)
        # Short timeouts and few attempts: a host that never answers fails in seconds.
        run = tap._new_run(connection_test_config(tap.config))  # a method of this class
        ctx.exit(0 if run_connection_test(run, cls.logger) else 1)

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        # A vendor refusing us, or an unreadable state file, is one line, not a traceback.
        state = kwargs.get("state")
        if state is not None:
            text = state.read()
            if problem := state_file_problem(text):
                cls.logger.error("Cannot use --state: %s", problem)
                sys.exit(1)
            kwargs["state"] = io.StringIO(text if text.strip() else "{}")
        try:
            super().invoke(*args, **kwargs)
        except (VendorAPIError, BatchFileError) as exc:
            if cls._running is not None:
                # Records already written stay bookmarked: the next run does not redo them.
                write_final_state(cls._running)
            cls.logger.error("%s", exc)  # noqa: TRY400
            sys.exit(1)
        if cls._running is not None:
            cls._running.finish()


if __name__ == "__main__":
    TapBatchImport.cli()
