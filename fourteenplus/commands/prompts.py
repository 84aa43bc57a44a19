"""`fourteenplus prompts`: (re)generate the prompt audio from fourteenplus/data/prompts.yaml.

Writes into the bundled Asterisk root's sounds (where its asterisk.conf says; or --sounds DIR); only prompts whose text or
recording changed are made again. `fourteenplus asterisk install` does this too.
"""

from __future__ import annotations

from pathlib import Path

from .. import asterisk, paths, prompts
from ._common import add_config_option, configured


def configure(parser) -> None:
    add_config_option(parser)
    parser.add_argument("--sounds", type=Path, metavar="DIR",
                        help="Asterisk sounds directory (default: the bundled root's)")


def main(args) -> int:
    loaded = configured(args)
    if loaded is None:
        return 1
    service, _ = loaded
    sounds = args.sounds or asterisk.layout(service, paths.asterisk_root()).sounds
    made = prompts.install(service, sounds)
    print(f"prompts in {sounds / prompts.SOUNDS_SUBDIR}/<language> ({made} made now; "
          f"recordings in {paths.recordings_dir()}/<language> override them)")
    return 0
