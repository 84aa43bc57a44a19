"""Where fourteenplus keeps the operator's files, which the package does not ship (`resources`
names what it does).

config: the operator's configuration.
cache: rebuildable and large (the Asterisk root, the assembled whisper model).
state: per-installation and private (generated credentials, the hashing secret, records).

A developer's checkout keeps them where it always has (the shipped example configuration, the
XDG cache and state directories in the home directory); an installed package uses the
operator's places, /etc/fourteenplus and what the systemd units' StateDirectory and
CacheDirectory make. `--config` and the $FOURTEENPLUS_* variables override either.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import resources

# The source checkout this package runs from (an editable install), or None when installed
# (the package's parent is then site-packages).
_PARENT = Path(__file__).resolve().parent.parent
CHECKOUT = _PARENT if (_PARENT / "pyproject.toml").is_file() else None
OPERATOR_CONFIG = Path("/etc/fourteenplus/fourteenplus.yaml")
OPERATOR_STATE = Path("/var/lib/fourteenplus")   # StateDirectory=fourteenplus
OPERATOR_CACHE = Path("/var/cache/fourteenplus")  # CacheDirectory=fourteenplus
# Where Asterisk's RECORD FILE puts the FastAGI utterances, in its spool (astspooldir), as
# Asterisk sees it (under the bundled root when there is one); the agi unit may write there and
# nowhere else of Asterisk's (its unit names the usual spool, /var/spool/asterisk).
AGI_RECORDINGS_SUBDIR = "tmp/fourteenplus-agi"
AGI_RECORDINGS = f"/var/spool/asterisk/{AGI_RECORDINGS_SUBDIR}"


def _place(override: str, operator: Path, xdg: str, home: str) -> Path:
    """$`override` if set; else the operator's place when installed; else the XDG directory
    (`xdg`, defaulting to `home` under the home directory) of a developer's checkout."""
    if os.environ.get(override):
        return Path(os.environ[override])
    if not CHECKOUT:
        return operator
    return Path(os.environ.get(xdg) or Path.home() / home) / "fourteenplus"


def cache_dir() -> Path:
    return _place("FOURTEENPLUS_CACHE", OPERATOR_CACHE, "XDG_CACHE_HOME", ".cache")


def state_dir() -> Path:
    return _place("FOURTEENPLUS_STATE", OPERATOR_STATE, "XDG_STATE_HOME", ".local/state")


def model_dir() -> Path:
    return Path(os.environ.get("FOURTEENPLUS_MODEL_DIR") or cache_dir() / "model" / "whisper-base")


def asterisk_root() -> Path:
    return Path(os.environ.get("FOURTEENPLUS_ASTERISK_ROOT") or cache_dir() / "asterisk-root")


def grammars_dir() -> Path:
    return Path(os.environ.get("FOURTEENPLUS_GRAMMARS") or resources.GRAMMARS)


def recordings_dir() -> Path:
    """Recorded prompts, <language>/<prompt id>.<wav|mp3|flac|…>: they replace the spoken ones,
    and are the only source of a prompt set without a voice (Frisian)."""
    return Path(os.environ.get("FOURTEENPLUS_RECORDINGS") or state_dir() / "recordings")


def recording(language: str, prompt_id: str) -> Path | None:
    """The operator's recording of a prompt (any audio file named <prompt id>.*), if any."""
    base = recordings_dir() / language / prompt_id
    return next(iter(sorted(base.parent.glob(base.name + ".*"))), None) if base.parent.is_dir() else None
