"""How `run` and `agi` write their log: `--log-format text|logfmt|json`, one line per event.

text is for a person at a terminal; logfmt and json are for a NOC's log pipeline (journald,
Loki, Elasticsearch): each line parses on its own, a traceback included. Structured facts go
in the record's `fields` (`logger.info("…", extra={FIELDS: {...}})`); every format prints
them, as key=value after the text or as keys of the JSON object.

Under systemd (stderr is the journal's stream, $JOURNAL_STREAM) every line starts with its
syslog priority, `<3>` for an error to `<7>` for debug, which journald takes as the entry's
priority (SyslogLevelPrefix=yes, its default): `journalctl -p err -u fourteenplus` finds the errors.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from typing import IO, Any

FIELDS = "fields"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# logfmt values that need no quotes; anything else is quoted JSON-style (one line, escaped)
_BARE = re.compile(r"[^\s\"=\\]+")


def logfmt(pairs: dict[str, Any]) -> str:
    """key=value ...; None values are left out (an unknown is no value, not the text "None")."""
    return " ".join(f"{key}={_value(value)}" for key, value in pairs.items() if value is not None)


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


class _Structured(logging.Formatter):
    """The fields of a record as one dict: time, level, logger, message, the record's fields."""

    def pairs(self, record: logging.LogRecord) -> dict[str, Any]:
        pairs = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage(),
            **getattr(record, FIELDS, {}),
        }
        if record.exc_info:
            pairs["exc"] = self.formatException(record.exc_info)
        return pairs


class LogfmtFormatter(_Structured):
    def format(self, record: logging.LogRecord) -> str:
        return logfmt(self.pairs(record))


class JsonFormatter(_Structured):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({k: v for k, v in self.pairs(record).items() if v is not None}, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = getattr(record, FIELDS, None)
        return super().formatMessage(record) + (f" {logfmt(fields)}" if fields else "")


FORMATTERS: dict[str, type[logging.Formatter]] = {
    "text": TextFormatter, "logfmt": LogfmtFormatter, "json": JsonFormatter,
}


# sd-daemon(3)'s priorities, from the highest level down (CRITICAL and above: crit)
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_DEBUG_PRIORITY = 7


def priority(level: int) -> int:
    return next((number for threshold, number in _PRIORITIES if level >= threshold), _DEBUG_PRIORITY)


class JournalFormatter(logging.Formatter):
    """Another formatter's lines, each prefixed with the record's priority (a text traceback
    spans lines, and journald reads the prefix per line)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).split("\n"))


def to_journal(stream: IO) -> bool:
    """Whether `stream` is the journal's: systemd names its device and inode in $JOURNAL_STREAM."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return bool(expected) and expected == f"{stat.st_dev}:{stat.st_ino}"


def setup(log_format: str, level: int = logging.INFO) -> None:
    """The root logger writes `log_format` lines to stderr (journald keeps them under systemd,
    with each line's priority)."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = FORMATTERS[log_format]()
    handler.setFormatter(JournalFormatter(formatter) if to_journal(sys.stderr) else formatter)
    logging.basicConfig(level=level, handlers=[handler])
