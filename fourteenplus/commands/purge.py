"""`fourteenplus purge`: remove records, transcripts and kept audio older than their retention.

The running app does the same daily (`RecordWriter`); this command is for installations that
run only the FastAGI mode, or right after lowering `retention_days`.
"""

from __future__ import annotations

import sys
import time

from ..records import AudioArchive, PurgeRefused, purge
from ._common import add_config_option
from ._common import configured
from ._records import store_of


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--force", action="store_true",
                        help="purge even when that removes every record (refused otherwise: the clock may be ahead)")


def main(args) -> int:
    loaded = configured(args)
    if loaded is None:
        return 1
    settings = loaded[0].records
    with store_of(loaded[0]) as store:
        try:
            purged = purge(settings, store, AudioArchive(settings), time.time(), force=args.force)
        except PurgeRefused as exc:
            print(f"purge: refused, {exc}", file=sys.stderr)
            return 1
    print(f"purge: {purged} (records older than {settings.retention_days} days, "
          f"audio older than {settings.audio_retention_days} days)")
    return 0
