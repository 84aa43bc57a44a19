"""The national directory: which municipalities sit behind which area code.

Loaded from `fourteenplus/data/directory.yaml` (built from sourced public data) and
validated on load; immutable afterwards.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import resources, yamlfile
from .errors import ConfigError, ConfigErrors

DEFAULT_PATH = resources.DIRECTORY
_AREA_CODE = re.compile(r"^0[1-57][0-9]{1,2}$")


def slug(name: str) -> str:
    """ASCII file-name form of a municipality name: 'Súdwest-Fryslân' → 'sudwest-fryslan'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


@dataclass(frozen=True)
class Municipality:
    name: str
    slug: str
    province: str
    area_codes: tuple[str, ...]


@dataclass(frozen=True)
class Area:
    code: str
    main_place: str
    municipalities: tuple[str, ...]


@dataclass(frozen=True)
class Directory:
    areas: dict[str, Area]
    municipalities: dict[str, Municipality]

    def area(self, code: str) -> Area:
        return self.areas[code]

    def number(self, name: str) -> str:
        """The 14+ number to tell a caller for a municipality ("14020"): every one of its area
        codes reaches it, so the code of its own main place (Amsterdam: 020, not 0294), else the
        one it shares with the fewest others (a caller there is asked less)."""
        codes = self.municipalities[name].area_codes
        return "14" + min(codes, key=lambda code: (self.areas[code].main_place != name,
                                                   len(self.areas[code].municipalities), code))


def _text(node: yamlfile.Node, key: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.strip():
        raise node.error(f"'{key}' must be a non-empty text", key)
    return value


def load_directory(path: str | Path = DEFAULT_PATH) -> Directory:
    return _load(str(path))


@cache
def _load(path: str) -> Directory:
    data = yamlfile.load(path)
    if not isinstance(data, yamlfile.Node) or not isinstance(data.get("areas"), yamlfile.Node):
        raise ConfigError("the directory needs a mapping 'areas'", path, 1)
    provinces = data.get("provinces")
    if not isinstance(provinces, yamlfile.Node):
        raise ConfigError("the directory needs a mapping 'provinces'", path, 1)
    errors: list[ConfigError] = []
    areas: dict[str, Area] = {}
    codes_of: dict[str, list[str]] = {}
    for code, node in data["areas"].items():
        if not isinstance(code, str) or not _AREA_CODE.match(code):
            errors.append(data["areas"].error(f"{code!r} is not a geographic area code", code))
            continue
        if not isinstance(node, yamlfile.Node) or not isinstance(node.get("municipalities"), yamlfile.Seq):
            errors.append(data["areas"].error(f"area {code} needs a list 'municipalities'", code))
            continue
        names = node["municipalities"]
        for index, name in enumerate(names):
            if name not in provinces:
                errors.append(names.error(f"{name!r} has no province in 'provinces'", index))
            codes_of.setdefault(name, []).append(code)
        try:
            areas[code] = Area(code, _text(node, "main_place"), tuple(names))
        except ConfigError as exc:
            errors.append(exc)
    for a in areas:
        for b in areas:
            if a != b and b.startswith(a):
                errors.append(data["areas"].error(f"area code {a} is a prefix of {b}: codes must be prefix-free", b))
    if errors:
        raise ConfigErrors(errors)
    municipalities = {
        name: Municipality(name, slug(name), provinces[name], tuple(sorted(codes)))
        for name, codes in sorted(codes_of.items())
    }
    return Directory(areas, municipalities)
