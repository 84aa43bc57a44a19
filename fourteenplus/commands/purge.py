"""`fourteenplus purge`: remove records, transcripts and kept audio older than their retention.

The running app does the same daily (`RecordWriter`); this command is for installations that
run only the FastAGI mode, or right after lowering `retention_days`.
"""

from __future__ import annotations

import time

from ..config import load_service
from ..errors import ConfigError, ConfigErrors
from ..records import AudioArchive, open_store, purge
from ._common import add_config_option, print_errors


def configure(parser) -> None:
    add_config_option(parser)


def main(args) -> int:
    try:
        settings = load_service(args.config).records
    except (ConfigError, ConfigErrors) as exc:
        print_errors(exc)
        return 1
    store = open_store(settings)
    try:
        purged = purge(settings, store, AudioArchive(settings), time.time())
    finally:
        store.close()
    print(f"purge: {purged} (records older than {settings.retention_days} days, "
          f"audio older than {settings.audio_retention_days} days)")
    return 0
