"""What every vendor provides the tap: settings checks, its jobs, and their status."""

from __future__ import annotations

import abc
import typing as t

from tap_batchimport.client import VendorClient
from tap_batchimport.retry import RetryPolicy
from tap_batchimport.settings import (
    base_url_error,
    common_setting,
    is_set,
    job_id_errors,
    unique,
)

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping

    import requests

    from tap_batchimport.jobs import JobRef, JobStatus


class Vendor(abc.ABC):
    """One vendor: which settings it needs, which jobs it has, what their status is.

    Attributes:
        display_name: Name used in logs and errors.
        credential_keys: Settings that must all be set to extract this vendor.
        url_keys: Base-URL settings among them (checked for https / loopback http).
        job_id_keys: Settings listing job ids.
        discovers_jobs: Whether the vendor can list its jobs when none are configured.
    """

    display_name: t.ClassVar[str]
    credential_keys: t.ClassVar[tuple[str, ...]]
    url_keys: t.ClassVar[tuple[str, ...]]
    job_id_keys: t.ClassVar[tuple[str, ...]]
    discovers_jobs: t.ClassVar[bool] = False

    def __init__(self, config: Mapping[str, t.Any], logger: logging.Logger) -> None:
        """Bind the vendor to the tap config.

        Args:
            config: Validated tap config.
            logger: The tap's logger.
        """
        self.config = config
        self.logger = logger

    @classmethod
    def config_errors(cls, config: Mapping[str, t.Any]) -> list[str]:
        """Check this vendor's settings: complete credentials, safe URLs, sane job ids.

        Args:
            config: Tap config.

        Returns:
            One line per problem (empty when the settings are usable).
        """
        present = [k for k in cls.credential_keys if is_set(config, k)]
        with_ids = [k for k in cls.job_id_keys if is_set(config, k)]
        errors: list[str] = []
        if present or with_ids:
            missing = [k for k in cls.credential_keys if k not in present]
            if missing:
                reason = f"{', '.join(with_ids)} is set" if with_ids else f"{present[0]} is set"
                errors.append(
                    f"{cls.display_name}: {', '.join(missing)} is required because {reason}"
                )
        errors.extend(
            err for k in cls.url_keys if is_set(config, k) and (err := base_url_error(k, config[k]))
        )
        for key in cls.job_id_keys:
            errors.extend(job_id_errors(key, config.get(key) or []))
        return errors

    @property
    def enabled(self) -> bool:
        """Whether this vendor's credentials are configured (else its streams emit nothing)."""
        return all(is_set(self.config, k) for k in self.credential_keys)

    def configured_ids(self, key: str) -> list[str]:
        """The job ids of a setting, each once.

        Args:
            key: A job-id setting.

        Returns:
            The ids, duplicates dropped (with a warning).
        """
        ids: list[str] = list(self.config.get(key) or [])
        distinct = unique(ids)
        if len(distinct) < len(ids):
            self.logger.warning(
                "%s lists %d duplicate job id(s); each job is extracted once",
                key,
                len(ids) - len(distinct),
            )
        return distinct

    def new_client(
        self,
        base_url: str,
        auth: Callable[[requests.PreparedRequest], requests.PreparedRequest],
        error_detail: Callable[[requests.Response], str],
        headers: Mapping[str, str] | None = None,
    ) -> VendorClient:
        """A client for this vendor with the run's retry and timeout settings.

        Args:
            base_url: Vendor base URL.
            auth: Adds credentials to each request.
            error_detail: Extracts the vendor's message from an error response.
            headers: Headers for every request.

        Returns:
            The client.
        """
        return VendorClient(
            vendor=self.display_name,
            base_url=base_url.strip(),
            auth=auth,
            policy=RetryPolicy(
                max_tries=int(common_setting(self.config, "retry_max_attempts")),
                max_wait_seconds=float(common_setting(self.config, "retry_max_wait_seconds")),
            ),
            timeout=float(common_setting(self.config, "request_timeout_seconds")),
            error_detail=error_detail,
            headers=headers or {},
            logger=self.logger,
        )

    @abc.abstractmethod
    def job_refs(self) -> list[JobRef]:
        """Every job to extract: the configured ids (or, if the vendor can, discovered ones)."""

    @abc.abstractmethod
    def fetch_status(self, ref: JobRef) -> JobStatus:
        """Ask the vendor for one job's status.

        Args:
            ref: Which job.
        """
