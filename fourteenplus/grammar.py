"""What a caller may say per area code: `fourteenplus/data/grammars/*.yaml` checked against the national directory.

Every official name in the directory is always a phrase of kind "name". The YAML files add,
per municipality, other ways callers say it: `aliases` (Den Bosch), `villages` (kernen: Zwaag
→ Hoorn), `frisian` (Ljouwert → Leeuwarden); and `learned` entries, reviewed phrases from the
calls themselves (data/grammars/learned.yaml). data/grammars/README.md describes the file format.

A phrase item is a text, or `{name: Velp, areas: ["026"]}` to restrict it to some of the
municipality's area codes: homonyms across areas are normal (Velp in 026 is Rheden, Velp in
0486 is Land van Cuijk), but within one area a phrase (compared folded, see `text.fold`) may
belong to one municipality only, and a municipality lists a phrase once.

API, consumed by the speech matcher:
- `load_grammars(directory, path=None) -> Grammars`; `path` is the folder of YAML files
  (default `paths.grammars_dir()`). All problems are raised together as `ConfigErrors`, each
  with file:line:column.
- `Grammars.area(code) -> AreaGrammar(code, municipalities, phrases)`: the phrases that route
  within that area, names first.
- `Grammars.elsewhere(code) -> tuple[Phrase, ...]`: phrases of municipalities not behind the
  code, so a matcher can recognise and reject an out-of-area name. A phrase whose folded
  text also routes within the area is left out: in 0486 "Velp" is Land van Cuijk, not a
  reason to reject.
- `Grammars.area(numberplan.NATIONAL)`: every phrase of the country, for a national number;
  there a phrase may route to several municipalities (`Grammars.shared()`: folded text → the
  municipalities it names, for those that name more than one), and nothing is elsewhere.
- `Grammars.warnings`: `ConfigError`s for phrases of different municipalities in one area
  that sound alike; `fourteenplus check` prints them and still succeeds.
- `Phrase(text, municipality, kind)` also carries `key`, `fold(text)`, computed once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from . import paths, yamlfile
from .errors import ConfigError, ConfigErrors
from .numberplan import NATIONAL
from .text import fold

if TYPE_CHECKING:
    from .directory import Directory

# In this order a municipality's phrases are listed: the official name first.
KINDS = ("name", "alias", "frisian", "village", "learned")
# The YAML keys of a municipality entry, each a list of phrase items of that kind.
ENTRY_KINDS = {"aliases": "alias", "frisian": "frisian", "villages": "village"}
TOP_KEYS = ("municipalities", "learned")
ITEM_KEYS = ("name", "areas")
LEARNED_KEYS = ("phrase", "municipality", "areas", "reviewed_by", "reviewed_on", "seen", "callers")
# fuzz.ratio (0..100) on folded text at or above which two phrases of different
# municipalities in one area are reported as sounding alike: "Blokker"/"Oosterblokker"
# (70) is left alone, "Wijhe"/"Wilp" style near-spellings are reported.
SOUND_ALIKE = 80


@dataclass(frozen=True)
class Phrase:
    text: str
    municipality: str
    kind: str
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", fold(self.text))


@dataclass(frozen=True)
class AreaGrammar:
    code: str
    municipalities: tuple[str, ...]
    phrases: tuple[Phrase, ...]


@dataclass(frozen=True)
class Grammars:
    areas: dict[str, AreaGrammar]
    phrases: tuple[Phrase, ...]
    """Every phrase of every municipality, each once."""
    warnings: tuple[ConfigError, ...] = ()
    _elsewhere: dict[str, tuple[Phrase, ...]] = field(default_factory=dict, repr=False, compare=False)
    _national: list[AreaGrammar] = field(default_factory=list, repr=False, compare=False)

    def area(self, code: str) -> AreaGrammar:
        if code == NATIONAL:
            return self.national()
        try:
            return self.areas[code]
        except KeyError:
            raise KeyError(f"area code {code!r} is not in the directory") from None

    def national(self) -> AreaGrammar:
        """What a caller of a national number may say: every phrase, official names first."""
        if not self._national:  # built on first use, then kept
            municipalities = tuple(sorted({p.municipality for p in self.phrases}))
            ranked = sorted(self.phrases, key=lambda p: (p.kind != "name", p.municipality, KINDS.index(p.kind)))
            self._national.append(AreaGrammar(NATIONAL, municipalities, tuple(ranked)))
        return self._national[0]

    def shared(self) -> dict[str, tuple[str, ...]]:
        """Folded phrases that name places in more than one municipality → those municipalities
        (Bergen, Velp, Hengelo): on a national number a caller who says one is asked which."""
        owners: dict[str, set[str]] = {}
        for phrase in self.phrases:
            owners.setdefault(phrase.key, set()).add(phrase.municipality)
        return {key: tuple(sorted(names)) for key, names in owners.items() if len(names) > 1}

    def elsewhere(self, code: str) -> tuple[Phrase, ...]:
        if code not in self._elsewhere:  # computed on first use per area, then cached
            here = self.area(code)
            local = set(here.municipalities)
            routed = {p.key for p in here.phrases}
            self._elsewhere[code] = tuple(p for p in self.phrases
                                          if p.municipality not in local and p.key not in routed)
        return self._elsewhere[code]


@dataclass(frozen=True)
class _Claim:
    """A phrase as read, with where it was read and the areas it is restricted to."""

    phrase: Phrase
    areas: tuple[str, ...] | None
    # Where it was read, as a ConfigError used for its file/line/column only; None for the
    # official names, which come from the directory.
    where: ConfigError | None


def load_grammars(directory: Directory, path: str | Path | None = None) -> Grammars:
    folder = Path(path) if path is not None else paths.grammars_dir()
    reader = _Reader(directory)
    for file in sorted(folder.glob("*.yaml")):
        reader.read(file)
    claims = reader.claims()
    areas = _areas(directory, claims, reader.errors)
    if reader.errors:
        raise ConfigErrors(reader.errors)
    return Grammars(areas, tuple(c.phrase for c in claims), tuple(_sound_alike(areas, claims)))


def _display(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _suggest(word: str, choices, what: str) -> str:
    found = process.extractOne(fold(word), {c: fold(c) for c in choices}, scorer=fuzz.WRatio)
    return f"{what} {word!r}" + (f"; did you mean {found[2]!r}?" if found and found[1] >= 60 else "")


class _Reader:
    """Reads the grammar files one by one, collecting claims and every error it finds."""

    def __init__(self, directory: Directory):
        self.directory = directory
        self.errors: list[ConfigError] = []
        self.entries: dict[str, ConfigError] = {}  # municipality → where its entry is
        self.by_municipality: dict[str, dict[str, _Claim]] = {
            name: {fold(name): _Claim(Phrase(name, name, "name"), None, None)}
            for name in directory.municipalities
        }

    def claims(self) -> list[_Claim]:
        return [claim for claims in self.by_municipality.values() for claim in claims.values()]

    def read(self, file: Path) -> None:
        try:
            data = yamlfile.load(file, _display(file))
        except ConfigError as exc:
            self.errors.append(exc)
            return
        if data is None:
            return
        if not isinstance(data, yamlfile.Node):
            self.errors.append(ConfigError(f"a grammar file is a mapping with {' and/or '.join(TOP_KEYS)}",
                                           _display(file), 1, 1))
            return
        self._known_keys(data, TOP_KEYS, "key")  # unknown keys are reported; the known ones still read
        municipalities = data.get("municipalities")
        if municipalities is not None:
            if isinstance(municipalities, yamlfile.Node):
                for name, entry in municipalities.items():
                    self._entry(municipalities, name, entry)
            else:
                self.errors.append(data.error("'municipalities' must map official names to entries",
                                              "municipalities"))
        learned = data.get("learned")
        if learned is not None:
            if isinstance(learned, yamlfile.Seq):
                for index, item in enumerate(learned):
                    self._learned(learned, index, item)
            else:
                self.errors.append(data.error("'learned' must be a list of entries", "learned"))

    def _known_keys(self, node: yamlfile.Node, allowed, what: str) -> None:
        for key in node:
            if key not in allowed:
                self.errors.append(node.error(_suggest(str(key), allowed, f"unknown {what}"), key))

    def _municipality(self, node: yamlfile.Node, key: Any, name: Any) -> str | None:
        if isinstance(name, str) and name in self.directory.municipalities:
            return name
        self.errors.append(node.error(_suggest(str(name), self.directory.municipalities,
                                               "unknown municipality"), key))
        return None

    def _entry(self, parent: yamlfile.Node, name: Any, entry: Any) -> None:
        municipality = self._municipality(parent, name, name)
        if municipality is None:
            return
        where = parent.error("", name)
        if municipality in self.entries:
            self.errors.append(parent.error(f"{municipality} already has an entry at "
                                            f"{self.entries[municipality].where}", name))
            return
        self.entries[municipality] = where
        if not isinstance(entry, yamlfile.Node):
            self.errors.append(parent.error(
                f"the entry of {municipality} must be a mapping with {', '.join(ENTRY_KINDS)}", name))
            return
        self._known_keys(entry, ENTRY_KINDS, "key")
        for key, items in entry.items():  # in file order, so a repeat is reported where it is
            kind = ENTRY_KINDS.get(key)
            if kind is None or items is None:
                continue
            if not isinstance(items, yamlfile.Seq):
                self.errors.append(entry.error(f"'{key}' must be a list", key))
                continue
            for index, item in enumerate(items):
                self._item(items, index, item, municipality, kind)

    def _item(self, items: yamlfile.Seq, index: int, item: Any, municipality: str, kind: str) -> None:
        if isinstance(item, yamlfile.Node):
            self._known_keys(item, ITEM_KEYS, "key")
            if "name" not in item:
                self.errors.append(item.error("a phrase needs a 'name'"))
                return
            text = self._text(item, "name", item["name"])
            areas = self._areas_of(item, "areas", item.get("areas"), municipality) if "areas" in item else None
            where = item.error("", "name")
        else:
            text, areas = self._text(items, index, item), None
            where = items.error("", index)
        if text is not None and (areas is None or areas):
            self._claim(Phrase(text, municipality, kind), areas, where)

    def _text(self, node: yamlfile.Node | yamlfile.Seq, key: Any, value: Any) -> str | None:
        """`value` if it is a usable phrase, else an error at `node`'s key (or item index)."""
        if isinstance(value, str) and fold(value):
            return value
        self.errors.append(node.error(_empty_or_not_text(value), key))
        return None

    def _areas_of(self, node: yamlfile.Node, key: str, value: Any, municipality: str) -> tuple[str, ...]:
        """The area codes of a restriction, each checked to be one of the municipality's."""
        own = self.directory.municipalities[municipality].area_codes
        if not isinstance(value, yamlfile.Seq) or not value:
            self.errors.append(node.error(f"'{key}' must be a non-empty list of area codes such as "
                                          f"[\"{own[0]}\"]", key))
            return ()
        codes = []
        for index, code in enumerate(value):
            if isinstance(code, str) and code in own:
                codes.append(code)
            else:
                self.errors.append(value.error(f"{municipality} is not behind area code {code!r} "
                                               f"(its codes: {', '.join(own)})", index))
        return tuple(codes) if len(codes) == len(value) else ()

    def _learned(self, items: yamlfile.Seq, index: int, item: Any) -> None:
        if not isinstance(item, yamlfile.Node):
            self.errors.append(items.error(f"a learned entry is a mapping with {', '.join(LEARNED_KEYS)}",
                                           index))
            return
        self._known_keys(item, LEARNED_KEYS, "key")
        missing = [k for k in LEARNED_KEYS if k not in item]
        if missing:
            self.errors.append(item.error(f"a learned entry needs {', '.join(missing)}"))
            return
        text = self._text(item, "phrase", item["phrase"])
        self._text(item, "reviewed_by", item["reviewed_by"])
        self._date(item, "reviewed_on")
        seen, callers = self._count(item, "seen"), self._count(item, "callers")
        if seen and callers and callers > seen:
            self.errors.append(item.error(f"'callers' ({callers}) cannot exceed 'seen' ({seen})", "callers"))
        municipality = self._municipality(item, "municipality", item["municipality"])
        if municipality is None or text is None:
            return
        areas = self._areas_of(item, "areas", item["areas"], municipality)
        if areas:
            self._claim(Phrase(text, municipality, "learned"), areas, item.error("", "phrase"))

    def _date(self, node: yamlfile.Node, key: str) -> None:
        value = node[key]
        if isinstance(value, dt.date):
            return
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            self.errors.append(node.error(f"'{key}' must be a date such as 2025-03-31, not {value!r}", key))

    def _count(self, node: yamlfile.Node, key: str) -> int | None:
        value = node[key]
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.errors.append(node.error(f"'{key}' must be a whole number of at least 1, not {value!r}", key))
        return None

    def _claim(self, phrase: Phrase, areas: tuple[str, ...] | None, where: ConfigError) -> None:
        own = self.by_municipality[phrase.municipality]
        earlier = own.get(phrase.key)
        if earlier is not None:
            self.errors.append(ConfigError(f"{phrase.text!r} is listed twice for {phrase.municipality}: "
                                           f"already its {earlier.phrase.kind} {earlier.phrase.text!r}"
                                           + (f" at {earlier.where.where}" if earlier.where else ""),
                                           where.file, where.line, where.column))
            return
        own[phrase.key] = _Claim(phrase, areas, where)


def _empty_or_not_text(value: Any) -> str:
    if isinstance(value, str):
        return "empty phrase: a phrase needs letters or digits"
    if value is None:
        return "empty phrase"
    return f"a phrase must be text, not {value!r}"


def _areas(directory: Directory, claims: list[_Claim], errors: list[ConfigError]) -> dict[str, AreaGrammar]:
    """Each area's grammar; a phrase claimed by two municipalities within one area is an error."""
    per_area: dict[str, list[_Claim]] = {code: [] for code in directory.areas}
    for claim in claims:
        for code in claim.areas or directory.municipalities[claim.phrase.municipality].area_codes:
            per_area[code].append(claim)
    clashes: dict[tuple[_Claim, _Claim], list[str]] = {}
    areas = {}
    for code, area in directory.areas.items():
        order = {name: i for i, name in enumerate(area.municipalities)}
        ranked = sorted(per_area[code], key=lambda c: (order[c.phrase.municipality], KINDS.index(c.phrase.kind)))
        first: dict[str, _Claim] = {}
        for claim in ranked:
            other = first.setdefault(claim.phrase.key, claim)
            if other is not claim:
                pair = (other, claim) if claim.where else (claim, other)
                clashes.setdefault(pair, []).append(code)
        areas[code] = AreaGrammar(code, tuple(area.municipalities), tuple(c.phrase for c in ranked))
    for (one, two), codes in clashes.items():
        where = two.where
        errors.append(ConfigError(
            f"{two.phrase.text!r} would route to both {one.phrase.municipality} ({one.phrase.kind}"
            + (f" at {one.where.where}" if one.where else "") + f") and {two.phrase.municipality} "
            f"in area {', '.join(codes)}: leave it out or restrict one with 'areas'",
            where.file if where else None, where.line if where else None, where.column if where else None))
    return areas


def _sound_alike(areas: dict[str, AreaGrammar], claims: list[_Claim]) -> list[ConfigError]:
    """Pairs of phrases of different municipalities in one area that a caller could confuse."""
    where = {c.phrase: c.where for c in claims}
    pairs: dict[tuple[Phrase, Phrase], list[str]] = {}
    for code, grammar in areas.items():
        phrases = grammar.phrases
        scores = process.cdist([p.key for p in phrases], [p.key for p in phrases],
                               scorer=fuzz.ratio, score_cutoff=SOUND_ALIKE)
        for i, j in zip(*scores.nonzero()):
            if i < j and phrases[i].municipality != phrases[j].municipality:
                pairs.setdefault((phrases[i], phrases[j]), []).append(code)
    warnings = []
    for (one, two), codes in pairs.items():
        located = where[two] or where[one]
        score = round(fuzz.ratio(one.key, two.key))
        warning = ConfigError(
            f"{one.text!r} ({one.municipality}) and {two.text!r} ({two.municipality}) sound alike "
            f"in area {', '.join(codes)} (similarity {score})",
            located.file if located else None, located.line if located else None,
            located.column if located else None)
        warning.areas = tuple(codes)
        warnings.append(warning)
    return warnings
