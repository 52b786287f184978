"""The environment the project's scripts and tests run Meltano in: quiet, and clean."""

from __future__ import annotations

import os

#: Never let Meltano look for a newer release or send usage data.
QUIET_MELTANO = {
    "MELTANO_CLI_DISABLE_VERSION_CHECK": "1",
    "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    "MELTANO_DISABLE_TRACKING": "true",
}


def quiet_meltano_env(*dropped: str) -> dict[str, str]:
    """This process's environment for a Meltano run: the caller's own settings left out.

    Args:
        *dropped: Prefixes of variables not to pass on (the developer's tap, target or
            Meltano settings would otherwise change what runs).

    Returns:
        The environment, with :data:`QUIET_MELTANO` set.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    env.update(QUIET_MELTANO)
    return env
