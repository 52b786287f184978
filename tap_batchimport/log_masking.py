"""Every log line is masked: no secret the process knows reaches stderr, whoever logs it.

Messages the tap builds are masked where they are built; this is the net under them, for
lines of the SDK and the libraries too. It works at record creation (a log record
factory), so it holds whatever handlers a logging config installs.
"""

from __future__ import annotations

import logging
import typing as t

from tap_batchimport.http.masking import KNOWN_SECRETS


def install() -> None:
    """Mask every log record created from now on (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_secrets", False):
        return

    def masked_record(*args: t.Any, **kwargs: t.Any) -> logging.LogRecord:  # noqa: ANN401
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record  # a broken format: logging reports it, without the arguments
        masked = KNOWN_SECRETS.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatted now, so a traceback quoting a secret is masked too.
            record.exc_text = KNOWN_SECRETS.mask(
                logging.Formatter().formatException(record.exc_info)
            )
        return record

    masked_record.masks_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)
