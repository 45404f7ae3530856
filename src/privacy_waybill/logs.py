"""Logging set-up: a rotating file in PWB_HOME/logs and warnings on stderr.

Log records carry ids, counts, field names and reasons only. As a second line of defence a
filter scrubs every formatted message for phone numbers, ID numbers, e-mails and addresses
(percent-encoded ones too) before any handler sees it, so a careless log call cannot leak a
record; waybill numbers and record ids are kept, since a log without them is useless.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path
from urllib.parse import unquote_plus

from privacy_waybill.masking.scrub import scrub_log_message

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


ACCESS_LOGGER = "uvicorn.access"
QUERY_MARK = "?[query]"
_QUERY_STRING = re.compile(r"(?<=[^\s?])\?[^\s\"'<>]+")
ENCODED_MARK = "[encoded]"
_PERCENT_ENCODED_WORD = re.compile(r"[^\s\"'<>]*%[0-9A-Fa-f]{2}[^\s\"'<>]*")
ACCESS_PATH_ARG = 2  # uvicorn.access args: client, method, path with query, HTTP version, status


class ScrubPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER and isinstance(record.args, tuple) and len(record.args) > ACCESS_PATH_ARG:
            # Query strings carry filters such as ?actor=...; the access log keeps the path only.
            args = list(record.args)
            args[ACCESS_PATH_ARG] = str(args[ACCESS_PATH_ARG]).split("?", 1)[0]
            record.args = tuple(args)
        # Query strings in any logged URL (uvicorn's, an HTTP client's) carry search values such
        # as ?actor=...: they are dropped. A word holding percent-escapes (%E6%AC%A7..., a name
        # or a phone sent in a path) is dropped whole: decoded, a name would read plainly, and
        # the scrubber recognises phones and addresses, not names.
        message = _QUERY_STRING.sub(QUERY_MARK, record.getMessage())
        message = unquote_plus(_PERCENT_ENCODED_WORD.sub(ENCODED_MARK, message))
        record.msg = scrub_log_message(message)
        record.args = None
        # Exception text is formatted by handlers later; keep the type, drop the message.
        if record.exc_info and record.exc_info[0] is not None:
            record.msg = f"{record.msg} [{record.exc_info[0].__name__}]"
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(log_dir, 0o700)
    log_file = log_dir / "pwb.log"
    scrub = ScrubPersonalData()
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=20 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    # Owner-only, like everything in PWB_HOME; files made later (rotation) follow the CLI's umask.
    os.chmod(log_file, 0o600)
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    file_handler.addFilter(scrub)
    stderr_handler = logging.StreamHandler()
    stderr_handler.setLevel(logging.WARNING)
    stderr_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    stderr_handler.addFilter(scrub)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(file_handler)
    root.addHandler(stderr_handler)
    root.setLevel(level)
    # uvicorn's own loggers propagate to ours, so they are scrubbed and filed too.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return log_file
