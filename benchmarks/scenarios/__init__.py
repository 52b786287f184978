"""The benchmark's scenarios, their dataset sizes, and how ``--only`` names them.

| key | module | what |
|---|---|---|
| ``1`` (``throughput``) | :mod:`.loopback` | Fullstory, 1 job x 1,000,000 rows: tap vs raw |
| ``3`` (``many-jobs``) | :mod:`.loopback` | Fullstory, 5,000 small jobs: tap vs raw, STATE size |
| ``4`` (``memory``) | :mod:`.loopback` | peak RSS of the tap at 30,000 and 1,000,000 rows |
| ``5`` (``druid``) | :mod:`.loopback` | DruID, 1,000,000 rows: tap vs raw ceiling |
| ``sailpoint`` | :mod:`.sailpoint` | 500 SailPoint jobs behind its rate limit: tap vs raw |
| ``latency`` | :mod:`.latency` | 200 Fullstory jobs, 50 ms per answer: tap vs 8-job client |
| ``ratelimit`` | :mod:`.ratelimit` | 100 SailPoint jobs behind 100 requests / 10 s: time vs floor |
| ``startup`` | :mod:`.startup` | a run with every job settled vs ``import singer_sdk`` |
| ``pipeline`` | :mod:`.pipeline` | 1,000,000 rows: tap alone, into target-duckdb, target-postgres |
| ``nightly`` | :mod:`.nightly` | 60 nightly runs with 20 new job ids each: requests, state, rows |
| ``state`` (``ledger-size``) | :mod:`.ledger_size` | 1 job read with 50 vs 50,000 jobs remembered |
| ``batch`` | :mod:`.batch` | 1 job x 1,000,000 rows into target-postgres: RECORD vs BATCH |

Scenarios 1-5 keep the numbers of the issue that introduced them (there is no 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.scenarios.batch import scenario_batch
from benchmarks.scenarios.latency import scenario_latency
from benchmarks.scenarios.ledger_size import scenario_ledger_size
from benchmarks.scenarios.loopback import (
    scenario_druid,
    scenario_many_jobs,
    scenario_memory,
    scenario_throughput,
)
from benchmarks.scenarios.nightly import scenario_nightly
from benchmarks.scenarios.pipeline import scenario_pipeline
from benchmarks.scenarios.ratelimit import scenario_ratelimit
from benchmarks.scenarios.sailpoint import scenario_sailpoint
from benchmarks.scenarios.sizes import FULL, QUICK, Sizes
from benchmarks.scenarios.startup import scenario_startup

if TYPE_CHECKING:
    from collections.abc import Callable

    from benchmarks.runner import Scenario

__all__ = ["ALIASES", "FULL", "KEYS", "QUICK", "Sizes", "resolve", "run_scenarios"]

#: Scenario keys in the order they run, and the other names ``--only`` accepts.
KEYS = (
    "1",
    "3",
    "4",
    "5",
    "sailpoint",
    "latency",
    "ratelimit",
    "startup",
    "nightly",
    "state",
    "pipeline",
    "batch",
)
#: Run only when named: the pipeline scenario already has the BATCH rows, one run each;
#: this one alternates RECORD and BATCH pipelines ``--repeat`` times (about 7 minutes a
#: round at 1,000,000 rows).
ON_REQUEST = frozenset({"batch"})
ALIASES = {
    "throughput": "1",
    "many-jobs": "3",
    "memory": "4",
    "druid": "5",
    "rate-limit": "ratelimit",
    "ledger": "nightly",
    "ledger-size": "state",
    "record-vs-batch": "batch",
    "6": "sailpoint",
    "start-up": "startup",
    "targets": "pipeline",
}


def resolve(names: list[str] | None) -> list[str]:
    """Turn ``--only`` values (repeatable, comma-separated, keys or aliases) into keys.

    Args:
        names: The values; None or empty means every scenario but :data:`ON_REQUEST`.

    Returns:
        The keys, in running order.

    Raises:
        ValueError: If a name is not a scenario.
    """
    if not names:
        return [key for key in KEYS if key not in ON_REQUEST]
    wanted = set()
    for value in names:
        for name in filter(None, (part.strip().lower() for part in value.split(","))):
            key = ALIASES.get(name, name)
            if key not in KEYS:
                known = ", ".join([*KEYS, *ALIASES])
                msg = f"unknown scenario {name!r} (known: {known})"
                raise ValueError(msg)
            wanted.add(key)
    return [key for key in KEYS if key in wanted]


def run_scenarios(
    keys: list[str], sizes: Sizes, repeat: int, *, profile: bool = False
) -> dict[str, Scenario]:
    """Run scenarios one after the other.

    Args:
        keys: Which (from :func:`resolve`).
        sizes: Dataset sizes.
        repeat: Runs of each compared program (scenarios 1, 3, 5, latency and batch).
        profile: Also cProfile one tap run of scenario 1 (which then runs, if only for that).

    Returns:
        The scenarios that ran, by key, in running order.
    """
    runners: dict[str, Callable[[], Scenario]] = {
        "3": lambda: scenario_many_jobs(sizes, repeat),
        "4": lambda: scenario_memory(sizes),
        "5": lambda: scenario_druid(sizes, repeat),
        "sailpoint": lambda: scenario_sailpoint(sizes),
        "latency": lambda: scenario_latency(sizes, repeat),
        "ratelimit": lambda: scenario_ratelimit(sizes),
        "startup": lambda: scenario_startup(sizes, repeat),
        "nightly": lambda: scenario_nightly(sizes),
        "state": lambda: scenario_ledger_size(sizes, repeat),
        "pipeline": lambda: scenario_pipeline(sizes),
        "batch": lambda: scenario_batch(sizes, repeat),
    }
    done: dict[str, Scenario] = {}
    if "1" in keys or profile:
        done["1"] = scenario_throughput(sizes, repeat if "1" in keys else 0, profile=profile)
    for key in keys:
        if key in runners:
            done[key] = runners[key]()
    return done
