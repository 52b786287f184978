"""tap-batchimport: the tap, its settings and its streams."""

from __future__ import annotations

import difflib
import io
import json
import sys
import typing as t

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from tap_batchimport import druid, fullstory, sailpoint
from tap_batchimport.bookmarks import StateBudget
from tap_batchimport.client import mask
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.interrupt import SignalSafeWriter, handle_termination, write_final_state
from tap_batchimport.job_details import JobDetailsStream
from tap_batchimport.jobs import Deadline, JobTracker
from tap_batchimport.settings import COMMON_SETTINGS

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from types import FrameType

    import click
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.streams import Stream

    from tap_batchimport.vendor import Vendor

#: Vendor packages in extraction order, by key: each exports SETTINGS, STREAMS, VENDOR.
VENDOR_PACKAGES = {"fullstory": fullstory, "druid": druid, "sailpoint": sailpoint}

VENDOR_TYPES: dict[str, type[Vendor]] = {
    key: package.VENDOR for key, package in VENDOR_PACKAGES.items() if package.VENDOR
}


def _settings(*lists: th.PropertiesList) -> dict[str, t.Any]:
    merged = th.PropertiesList()
    for properties in lists:
        for prop in properties.wrapped.values():
            merged.append(prop)
    return merged.to_dict()


class TapBatchImport(Tap):
    """Results of asynchronous batch-import jobs: Fullstory, DruID, SailPoint ISC."""

    name = "tap-batchimport"
    package_name = "tap-batchimport"

    #: Page-buffered output that a SIGTERM cannot cut mid-line (see interrupt.py).
    message_writer_class = SignalSafeWriter

    #: No BATCH or ACTIVATE_VERSION: state is per job and per page, see bookmarks.py.
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = _settings(
        *(package.SETTINGS for package in VENDOR_PACKAGES.values()), COMMON_SETTINGS
    )

    #: The tap the CLI runs, so that a fatal error can still end with a final STATE.
    _running: t.ClassVar[TapBatchImport | None] = None

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the tap (arguments as for ``singer_sdk.Tap``).

        Args:
            *args: Positional arguments of ``Tap``.
            **kwargs: Keyword arguments of ``Tap``.
        """
        super().__init__(*args, **kwargs)
        TapBatchImport._running = self

    @override
    def discover_streams(self) -> list[Stream]:
        # Statuses are fetched once per vendor and shared by job_details and the results.
        return [JobDetailsStream(self)] + [
            stream_type(self)
            for package in VENDOR_PACKAGES.values()
            for stream_type in package.STREAMS
        ]

    @property
    def vendors(self) -> dict[str, Vendor]:
        """Every vendor, enabled or not, by key."""
        if getattr(self, "_vendors", None) is None:
            self._vendors = {k: v(self.config, self.logger) for k, v in VENDOR_TYPES.items()}
        return self._vendors

    def vendor_enabled(self, key: str) -> bool:
        """Whether a vendor is configured; says once why not.

        Args:
            key: Vendor key.

        Returns:
            True if its credentials are set.
        """
        vendor = self.vendors[key]
        if vendor.enabled:
            return True
        said: set[str] = self.__dict__.setdefault("_said_disabled", set())
        if key not in said:
            said.add(key)
            self.logger.info(
                "%s is not extracted: %s not set",
                vendor.display_name,
                " / ".join(vendor.credential_keys),
            )
        return False

    def tracker(self, key: str) -> JobTracker:
        """The job tracker of a vendor: its jobs' statuses, fetched once per run.

        Args:
            key: Vendor key.

        Returns:
            The tracker.
        """
        trackers: dict[str, JobTracker] = self.__dict__.setdefault("_trackers", {})
        if key not in trackers:
            wait = float(self.config.get("job_wait_timeout_seconds") or 0)
            trackers[key] = JobTracker(self.vendors[key], Deadline(wait), self.logger)
        return trackers[key]

    @property
    def state_budget(self) -> StateBudget:
        """Decides when a page boundary is worth a STATE message."""
        if getattr(self, "_state_budget", None) is None:
            self._state_budget = StateBudget()
        return self._state_budget

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The JSON schema cannot express "all of a vendor's credentials or none" or the
        # https/loopback rule, so those are checked here, before any request.
        self._warn_unknown_settings()  # first: a typo often explains the errors below
        try:
            errors = super()._validate_config(raise_errors=raise_errors)
        except ConfigValidationError as exc:
            # JSON-schema messages quote the value: a secret of the wrong type must not show.
            masked = self._mask_secrets(exc.errors)
            raise ConfigValidationError(str(exc), errors=masked, schema=exc.schema) from None
        errors += [e for vendor in VENDOR_TYPES.values() for e in vendor.config_errors(self.config)]
        errors = self._mask_secrets(errors)
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors)
        return errors

    def _mask_secrets(self, messages: list[str]) -> list[str]:
        properties = self.config_jsonschema.get("properties", {})
        secrets = [
            str(value)
            for key, value in self.config.items()
            if value is not None and properties.get(key, {}).get("secret")
        ]
        return [mask(message, secrets) for message in messages]

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
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        handle_termination(self, signum)

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
        # `--test` runs before `invoke`: report its failures as one line too.
        try:
            super().cb_test(ctx, param, value)
        except ConfigValidationError as exc:
            for error in exc.errors or [str(exc)]:
                cls.logger.error("Config validation failed: %s", error)  # noqa: TRY400
            ctx.exit(1)
        except VendorAPIError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400
            ctx.exit(1)

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
        except VendorAPIError as exc:
            if cls._running is not None:
                # Records already written stay bookmarked: the next run does not redo them.
                write_final_state(cls._running)
            cls.logger.error("%s", exc)  # noqa: TRY400
            sys.exit(1)


def state_file_problem(text: str) -> str | None:
    """Check the shape of a state file before the SDK reads it.

    Args:
        text: The file's content.

    Returns:
        What is wrong with it, or None when it is usable.
    """
    if not text.strip():
        return None  # an empty file is an empty state, as for a first run
    try:
        state = json.loads(text)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(state, dict):
        return "the state must be a JSON object"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict) or not all(isinstance(b, dict) for b in bookmarks.values()):
        return "'bookmarks' must map stream names to objects"
    return None


if __name__ == "__main__":
    TapBatchImport.cli()
