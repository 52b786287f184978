"""What the emulated vendors know: their jobs, credentials and switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from emulator.druid.jobs import DruidBulk
    from emulator.fullstory.jobs import FullstoryJob
    from emulator.sailpoint.jobs import SailpointJob

_T = TypeVar("_T")


@dataclass
class Dataset:
    """Everything the emulated vendors know: jobs, credentials and switches.

    Jobs may be appended to the lists (or their attributes changed) while the emulator runs.

    Attributes:
        fullstory_jobs: Fullstory users and events import jobs.
        druid_bulks: DruID bulk jobs.
        sailpoint_jobs: SailPoint sp-config import jobs.
        fullstory_api_key: The valid Fullstory API key.
        fullstory_forbidden_keys: Keys that authenticate but get 403.
        druid_client_id: DruID OAuth2 client id.
        druid_client_secret: DruID OAuth2 client secret.
        druid_token_ttl: Lifetime of DruID access tokens, in seconds.
        sailpoint_client_id: SailPoint OAuth2 client id.
        sailpoint_client_secret: SailPoint OAuth2 client secret.
        sailpoint_token_ttl: Lifetime of SailPoint access tokens, in seconds.
        sailpoint_forbidden: Answer every SailPoint API call with 403.
        sailpoint_prefixed_paths: Serve ``/{version}/sp-config/...`` besides
            ``/sp-config/v1/...``; False answers 404 there, as a tenant that retired them.
    """

    fullstory_jobs: list[FullstoryJob] = field(default_factory=list)
    druid_bulks: list[DruidBulk] = field(default_factory=list)
    sailpoint_jobs: list[SailpointJob] = field(default_factory=list)
    fullstory_api_key: str = "fs-demo-key"
    fullstory_forbidden_keys: set[str] = field(default_factory=set)
    druid_client_id: str = "druid-demo-client"
    druid_client_secret: str = "druid-demo-secret"  # noqa: S105 - demo credential
    druid_token_ttl: float = 3600
    sailpoint_client_id: str = "sp-demo-client"
    sailpoint_client_secret: str = "sp-demo-secret"  # noqa: S105 - demo credential
    sailpoint_token_ttl: float = 749
    sailpoint_forbidden: bool = False
    sailpoint_prefixed_paths: bool = True
    _indexes: dict[str, tuple[tuple[int, int, int], dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def fullstory_job(self, job_id: str) -> FullstoryJob | None:
        """Find a Fullstory job by id.

        Args:
            job_id: The job id.

        Returns:
            The job, or None.
        """
        return self._find("fullstory", self.fullstory_jobs, job_id, lambda job: job.job_id)

    def druid_bulk(self, bulk_id: str) -> DruidBulk | None:
        """Find a DruID bulk by id.

        Args:
            bulk_id: The bulk id.

        Returns:
            The bulk, or None.
        """
        return self._find("druid", self.druid_bulks, bulk_id, lambda bulk: bulk.bulk_id)

    def sailpoint_job(self, job_id: str) -> SailpointJob | None:
        """Find a SailPoint import job by id.

        Args:
            job_id: The job id.

        Returns:
            The job, or None.
        """
        return self._find("sailpoint", self.sailpoint_jobs, job_id, lambda job: job.job_id)

    def _find(
        self, name: str, items: Sequence[_T], item_id: str, key: Callable[[_T], str]
    ) -> _T | None:
        # Index lazily and re-index when the list is replaced, grows, shrinks or changes
        # at its end (a job removed and another appended), so thousands of jobs cost one
        # dict lookup per request.
        signature = (id(items), len(items), id(items[-1]) if items else 0)
        cached = self._indexes.get(name)
        if cached is None or cached[0] != signature:
            cached = (signature, {key(item): item for item in items})
            self._indexes[name] = cached
        found: _T | None = cached[1].get(item_id)
        return found
