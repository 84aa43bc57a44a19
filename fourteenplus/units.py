"""The systemd units for `run` (ARI) and `agi` (FastAGI), rendered for an operator's paths.

One template, data/systemd/fourteenplus.service.in, and a row per unit in UNITS: the two services
differ only in their command and what they may write, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import paths, resources

TEMPLATE = resources.UNIT_TEMPLATE
STATE_DIR = paths.OPERATOR_STATE  # what StateDirectory=fourteenplus makes
DEFAULT_USER = "fourteenplus"
DEFAULT_CONFIG = paths.OPERATOR_CONFIG
# The 30 s drain (commands/_serving.DRAIN_S) plus the model and record writer shutting down.
STOP_TIMEOUT_S = 45
# No step of a call holds the event loop for seconds (recognition and the record store run in
# threads); one this long is a wedged app, better restarted than leaving callers in silence.
WATCHDOG_S = 30


@dataclass(frozen=True)
class Unit:
    name: str
    command: str              # the fourteenplus command it runs
    description: str
    extra: tuple[str, ...] = ()     # further [Service] lines
    # May also write where Asterisk records the callers' utterances (Settings.agi_recordings).
    writes_recordings: bool = False


UNITS = (
    Unit("fourteenplus.service", "run", "fourteenplus: 14+ call routing (ARI application)"),
    # FastAGI reads the utterances Asterisk records into its own spool, so it shares
    # Asterisk's group and may write (prepare) that one directory.
    Unit("fourteenplus-agi.service", "agi", "fourteenplus: 14+ call routing (FastAGI server)",
         extra=("SupplementaryGroups=asterisk",), writes_recordings=True),
)


@dataclass(frozen=True)
class Settings:
    bin: Path                        # the fourteenplus executable
    user: str = DEFAULT_USER
    config: Path = DEFAULT_CONFIG
    records_dir: Path = STATE_DIR    # the directory the record store writes in
    # Where this machine's Asterisk records for FastAGI: <astspooldir>/tmp/fourteenplus-agi,
    # astspooldir from the configuration's `asterisk:` section (its asterisk.conf, directories).
    agi_recordings: Path = Path(paths.AGI_RECORDINGS)


def render(unit: Unit, settings: Settings) -> str:
    return TEMPLATE.read_text(encoding="utf-8").format(
        unit=unit.name, description=unit.description, command=unit.command,
        user=settings.user, config=settings.config, bin=settings.bin, stop_timeout=STOP_TIMEOUT_S,
        watchdog=WATCHDOG_S, watchdog_half=WATCHDOG_S // 2,
        writable=" ".join(writable(unit, settings)),
        extra="".join(line + "\n" for line in unit.extra),
    )


def writable(unit: Unit, settings: Settings) -> list[str]:
    """What the unit may write beyond its state and cache directories. The recordings' directory
    is optional ("-"): an `agi` of the bundled Asterisk records under the cache directory, and
    systemd would refuse to start a unit over a path this machine does not have."""
    return [str(settings.records_dir), *([f"-{settings.agi_recordings}"] if unit.writes_recordings else [])]


def records_dir(record_path: str | None) -> Path:
    """Where a configuration's SQLite store lives under the units: its own path (a relative one
    from the service's working directory, /), else the state dir."""
    return (Path("/") / record_path).parent if record_path else STATE_DIR
