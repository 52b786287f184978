"""The SDK private names tap_batchimport/sdk_private.py overrides still exist as expected.

An SDK upgrade that renames or removes one of them must fail here, naming it, rather
than silently bypass an override (records written twice, STATE never written, config
errors not reported) and fail somewhere else.
"""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest
from singer_sdk import Stream, Tap

from tap_batchimport import sdk_private
from tap_batchimport.tap import TapBatchImport


@pytest.mark.parametrize(
    ("owner", "name", "params"),
    sdk_private.OVERRIDDEN,
    ids=[f"{owner.__name__}.{name}" for owner, name, _ in sdk_private.OVERRIDDEN],
)
def test_overridden_sdk_name_still_exists(owner: type, name: str, params: tuple[str, ...]):
    sdk_attr = getattr(owner, name, None)
    assert sdk_attr is not None, (
        f"singer_sdk {owner.__name__}.{name} is gone: update sdk_private.py"
    )
    found = tuple(inspect.signature(sdk_attr).parameters)
    assert found == params, (
        f"singer_sdk {owner.__name__}.{name} now takes {found}, sdk_private.py expects {params}"
    )


def test_every_private_override_is_listed():
    listed = {(owner, name) for owner, name, _ in sdk_private.OVERRIDDEN}
    for ours, base in ((sdk_private.SdkStream, Stream), (sdk_private.SdkTap, Tap)):
        overridden = {
            (base, name)
            for name in vars(ours)
            if (name.startswith("_") or getattr(getattr(base, name, None), "__final__", False))
            and not name.startswith("__")
            and name != "_abc_impl"
            and callable(getattr(base, name, None))
        }
        assert overridden <= listed, f"unlisted SDK private override(s): {overridden - listed}"


def test_used_private_attributes_exist_on_real_objects():
    tap = TapBatchImport(config={}, validate_config=False)
    stream = next(iter(tap.streams.values()))
    # sdk_private.py reads Stream._tap and writes state_manager.is_flushed.
    assert stream._tap is tap, "singer_sdk Stream._tap is gone: update sdk_private.py"
    assert isinstance(stream.state_manager.is_flushed, bool), (
        "singer_sdk StreamStateManager.is_flushed is gone: update sdk_private.py"
    )


def test_no_other_module_touches_sdk_private_names():
    package = pathlib.Path(sdk_private.__file__).parent
    private_use = re.compile(r"singer_sdk\.[\w.]*\._|\._tap\b|is_flushed|_write_state_message")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "sdk_private.py" and private_use.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
