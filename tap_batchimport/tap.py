"""tap-batchimport: the tap, its settings and its streams."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from tap_batchimport import druid, fullstory, sailpoint
from tap_batchimport.bookmarks import StateBudget
from tap_batchimport.errors import VendorAPIError
from tap_batchimport.job_details import JobDetailsStream
from tap_batchimport.jobs import Deadline, JobTracker
from tap_batchimport.output import PageBufferedWriter
from tap_batchimport.settings import COMMON_SETTINGS

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
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

    message_writer_class = PageBufferedWriter

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
        errors = super()._validate_config(raise_errors=raise_errors)
        errors += [e for vendor in VENDOR_TYPES.values() for e in vendor.config_errors(self.config)]
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors)
        return errors

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
        # A vendor refusing us is reported as one line, not a traceback.
        try:
            super().invoke(*args, **kwargs)
        except VendorAPIError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400
            sys.exit(1)


if __name__ == "__main__":
    TapBatchImport.cli()
