"""What every vendor provides: its settings checks, its jobs, their status, and a client."""

from __future__ import annotations

import abc
import threading
import typing as t

from tap_batchimport.http.client import VendorClient
from tap_batchimport.http.endpoints import Endpoint
from tap_batchimport.http.header_values import header_value_problem
from tap_batchimport.http.oauth import ClientCredentialsAuthenticator
from tap_batchimport.http.rate import RateGate
from tap_batchimport.http.retry import RetryPolicy
from tap_batchimport.http.stats import RequestStats
from tap_batchimport.jobs import JobRef
from tap_batchimport.settings import (
    base_url_error,
    common_setting,
    is_set,
    job_id_errors,
    unique,
)

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    import requests

    from tap_batchimport.http.rate import RateLimit
    from tap_batchimport.jobs import JobStatus

    ErrorReader = Callable[[requests.Response], str]


class Vendor(abc.ABC):
    """One vendor: which settings it needs, which jobs it has, what their status is.

    Attributes:
        display_name: Name used in logs and errors.
        credential_keys: Settings that must all be set to extract this vendor.
        url_keys: Base-URL settings among them (checked for https / loopback http).
        job_id_keys: Settings listing job ids, and the ``job_details.source`` of each.
        header_keys: Credential settings sent in an HTTP header (checked for CR/LF).
        rate_limit: The vendor's documented request limit, kept by the tap itself.
    """

    display_name: t.ClassVar[str]
    credential_keys: t.ClassVar[tuple[str, ...]]
    url_keys: t.ClassVar[tuple[str, ...]]
    job_id_keys: t.ClassVar[Mapping[str, str]]
    header_keys: t.ClassVar[tuple[str, ...]] = ()
    rate_limit: t.ClassVar[RateLimit | None] = None

    def __init__(self, config: Mapping[str, t.Any], logger: logging.Logger) -> None:
        """Bind the vendor to the tap config.

        Args:
            config: Validated tap config.
            logger: The tap's logger.
        """
        self.config = config
        self.logger = logger
        #: Shared by every client and worker of this vendor.
        self.gate = RateGate(self.rate_limit)
        self.stats = RequestStats()
        self._client: VendorClient | None = None
        self._client_lock = threading.Lock()

    @classmethod
    def sources(cls) -> tuple[str, ...]:
        """The ``job_details.source`` values of this vendor's jobs."""
        return tuple(unique(cls.job_id_keys.values()))

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
        # Never quoted: they are secrets. Outer whitespace is stripped before use.
        errors.extend(
            f"{key} {problem}; it is sent in an HTTP header, so it cannot"
            for key in cls.header_keys
            if is_set(config, key) and (problem := header_value_problem(str(config[key]).strip()))
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

    def named_jobs(self, from_file: Iterable[JobRef]) -> list[JobRef]:
        """The jobs this run's settings and job ids file name, each once, in order.

        Args:
            from_file: Every job of the job ids file (other vendors' are ignored).

        Returns:
            The settings' jobs, then the file's.
        """
        refs = [
            JobRef(source, job_id)
            for key, source in self.job_id_keys.items()
            for job_id in self.configured_ids(key)
        ]
        sources = self.sources()
        refs += [ref for ref in from_file if ref.source in sources]
        return unique(refs)

    @property
    def api_layout(self) -> str | None:
        """Which of the vendor's endpoint layouts the settings chose, for ``--test``.

        None when the vendor has one layout only.
        """
        return None

    def listed_statuses(self) -> dict[JobRef, JobStatus]:
        """Statuses the vendor lists in one request, when it can (override).

        Returns:
            Listed jobs and their status, in the vendor's order; empty when it cannot.
        """
        return {}

    def job_record(self, status: JobStatus, entry: Mapping[str, t.Any]) -> dict[str, t.Any]:  # noqa: ARG002
        """The ``job_details`` record of a job (override to add what the results found).

        Args:
            status: The job's status.
            entry: Its job ledger entry (what this and earlier runs found).

        Returns:
            The record, ``given_up`` aside.
        """
        return status.as_record()

    def status_endpoint_name(self, ref: JobRef) -> str:  # noqa: ARG002
        """The endpoint a job's status came from, for messages (override).

        Args:
            ref: Which job.

        Returns:
            E.g. ``GET /v2/users/batch/{job_id}``.
        """
        return "job status"

    @abc.abstractmethod
    def fetch_status(self, ref: JobRef) -> JobStatus:
        """Ask the vendor for one job's status.

        Args:
            ref: Which job.
        """

    @property
    def client(self) -> VendorClient:
        """The HTTP client of this vendor (made on first use; shared by its workers)."""
        # Workers start together and all ask for it at once: one client, hence one token.
        # (functools.cached_property has no lock since Python 3.12.)
        client = self._client
        if client is None:
            with self._client_lock:
                client = self._client
                if client is None:
                    client = self._client = self.make_client()
        return client

    @abc.abstractmethod
    def make_client(self) -> VendorClient:
        """Make the HTTP client (see :meth:`new_client` and :meth:`client_credentials`)."""

    def new_client(
        self,
        base_url: str,
        auth: Callable[[requests.PreparedRequest], requests.PreparedRequest],
        error_detail: ErrorReader,
        headers: Mapping[str, str] | None = None,
    ) -> VendorClient:
        """A client for this vendor with the run's retry and timeout settings.

        Args:
            base_url: Vendor base URL.
            auth: Adds credentials to each request.
            error_detail: Extracts the vendor's message from an error response.
            headers: Headers for every request.

        Returns:
            The client (sharing the vendor's rate gate and counters).
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
            max_response_mb=int(common_setting(self.config, "max_response_mb")),
            error_detail=error_detail,
            headers=headers or {},
            logger=self.logger,
            gate=self.gate,
            stats=self.stats,
        )

    def client_credentials(
        self, *, auth_url: str, token_path: str, prefix: str, error_detail: ErrorReader
    ) -> ClientCredentialsAuthenticator:
        """An OAuth2 client-credentials authenticator from ``<prefix>_client_id/_secret``.

        Args:
            auth_url: Base URL of the auth host.
            token_path: Token endpoint below it.
            prefix: Setting prefix (``druid``, ``sailpoint``).
            error_detail: The vendor's error-message reader.

        Returns:
            The authenticator (its token requests go through this vendor's client).
        """
        url = auth_url.strip()
        return ClientCredentialsAuthenticator(
            token_endpoint=Endpoint(token_path, method="POST", envelope="access_token"),
            auth_url=url,
            client_id=str(self.config[f"{prefix}_client_id"]).strip(),
            client_secret=str(self.config[f"{prefix}_client_secret"]).strip(),
            error_detail=error_detail,
            token_client=lambda hook, reader: self.new_client(
                url, hook, reader, {"Accept": "application/json"}
            ),
        )
