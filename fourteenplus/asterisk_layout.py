"""Where an Asterisk keeps its files, read from its own `asterisk.conf`, not assumed.

Debian's Asterisk keeps its sounds in /usr/share/asterisk/sounds, a source-built one in
/var/lib/asterisk/sounds: the `[directories]` section of asterisk.conf says which
(`astdatadir`, `astetcdir`, `astspooldir`, …). Both Debian's file and the one `make samples`
installs mark that section a template (`[directories](!)`), which Asterisk then does not
apply, but they hold the directories the build was configured with, which are the compiled-in
defaults it does apply; so its values are read either way. A directory asterisk.conf does not
name is Asterisk's own default for a source build. The configuration's `asterisk.directories`
overrides any of them, for an Asterisk started with other directories than its file says.

Paths are as Asterisk sees them; `Layout.host` gives the same path from this machine, under
the bundled root when Asterisk runs chrooted in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

DEFAULT_CONF = "/etc/asterisk/asterisk.conf"
# What a source build (./configure with its default prefix) uses when asterisk.conf is silent.
SOURCE_DEFAULTS = {
    "astetcdir": "/etc/asterisk",
    "astdatadir": "/var/lib/asterisk",
    "astvarlibdir": "/var/lib/asterisk",
    "astspooldir": "/var/spool/asterisk",
    "astlogdir": "/var/log/asterisk",
    "astrundir": "/var/run/asterisk",
}
DIRECTORIES = tuple(SOURCE_DEFAULTS)
_SECTION = re.compile(r"^\[([^\]]+)\]")
_SETTING = re.compile(r"^([A-Za-z_]+)\s*=>?\s*(.*?)\s*$")


def parse(text: str, source: str) -> dict[str, str]:
    """The directories an asterisk.conf names (`[directories]`, template or not); a value that
    is no absolute path is a ConfigError with its file:line."""
    found: dict[str, str] = {}
    section = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip().lower()
            continue
        setting = _SETTING.match(line)
        if section != "directories" or not setting:
            continue
        key, value = setting.group(1).lower().replace("_", ""), setting.group(2)
        if key in DIRECTORIES:
            if not value.startswith("/"):
                raise ConfigError(f"{key} must be an absolute path, not {value!r}", source, number, 1)
            found[key] = value.rstrip("/") or "/"
    return found


@dataclass(frozen=True)
class Layout:
    """An Asterisk's directories (as it sees them) and the root it runs in ("/": this machine's)."""
    root: Path = Path("/")
    directories: dict[str, str] = field(default_factory=lambda: dict(SOURCE_DEFAULTS))
    conf: str = DEFAULT_CONF  # the asterisk.conf they were read from, as Asterisk sees it

    def host(self, directory: str) -> Path:
        """An Asterisk directory (`astdatadir`, …) as this machine sees it."""
        return self.root / self.directories[directory].lstrip("/")

    @property
    def etc(self) -> Path:
        return self.host("astetcdir")

    @property
    def sounds(self) -> Path:
        return self.host("astdatadir") / "sounds"

    @property
    def spool(self) -> Path:
        return self.host("astspooldir")


def read(root: Path = Path("/"), conf: str | None = None, overrides: dict[str, str] | None = None) -> Layout:
    """The layout of the Asterisk in `root` whose asterisk.conf is `conf` (as Asterisk sees it;
    default /etc/asterisk/asterisk.conf). A missing file leaves the defaults; `overrides` win."""
    conf = conf or DEFAULT_CONF
    path = root / conf.lstrip("/")
    try:
        named = parse(path.read_text(encoding="utf-8", errors="replace"), str(path))
    except FileNotFoundError:
        named = {}
    return Layout(root, {**SOURCE_DEFAULTS, **named, **(overrides or {})}, conf)
