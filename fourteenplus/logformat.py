"""How `run` and `agi` write their log: `--log-format text|logfmt|json`, one line per event.

text is for a person at a terminal; logfmt and json are for a NOC's log pipeline (journald,
Loki, Elasticsearch): each line parses on its own, a traceback included. Structured facts go
in the record's `fields` (`logger.info("…", extra={FIELDS: {...}})`); every format prints
them, as key=value after the text or as keys of the JSON object.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

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


def setup(log_format: str, level: int = logging.INFO) -> None:
    """The root logger writes `log_format` lines to stderr (journald keeps them under systemd)."""
    handler = logging.StreamHandler()
    handler.setFormatter(FORMATTERS[log_format]())
    logging.basicConfig(level=level, handlers=[handler])
