"""Where fourteenplus keeps things that are not in the repo.

cache: rebuildable and large (the Asterisk root, the assembled whisper model).
state: per-installation and private (generated credentials, the hashing secret, records).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Where Asterisk's RECORD FILE puts the FastAGI utterances, as Asterisk sees it (under the
# bundled root when there is one); the agi unit may write there and nowhere else of Asterisk's.
AGI_RECORDINGS = "/var/spool/asterisk/tmp/fourteenplus-agi"


def cache_dir() -> Path:
    base = os.environ.get("FOURTEENPLUS_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fourteenplus"
    return Path(base)


def state_dir() -> Path:
    base = os.environ.get("FOURTEENPLUS_STATE") or Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "fourteenplus"
    return Path(base)


def model_dir() -> Path:
    return Path(os.environ.get("FOURTEENPLUS_MODEL_DIR") or cache_dir() / "model" / "whisper-base")


def asterisk_root() -> Path:
    return Path(os.environ.get("FOURTEENPLUS_ASTERISK_ROOT") or cache_dir() / "asterisk-root")


def grammars_dir() -> Path:
    return Path(os.environ.get("FOURTEENPLUS_GRAMMARS") or REPO / "fourteenplus" / "data" / "grammars")


def recordings_dir() -> Path:
    """Recorded prompts, <language>/<prompt id>.<wav|mp3|flac|…>: they replace the spoken ones,
    and are the only source of a prompt set without a voice (Frisian)."""
    return Path(os.environ.get("FOURTEENPLUS_RECORDINGS") or state_dir() / "recordings")


def recording(language: str, prompt_id: str) -> Path | None:
    """The operator's recording of a prompt (any audio file named <prompt id>.*), if any."""
    base = recordings_dir() / language / prompt_id
    return next(iter(sorted(base.parent.glob(base.name + ".*"))), None) if base.parent.is_dir() else None
