"""The operator's configuration: which municipalities are connected, and how to reach them.

`load_service(path)` validates everything it reads and reports every problem with
file:line:column at once, so an engineer fixes a file in one pass.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths, resources, yamlfile
from .asterisk_layout import DIRECTORIES
from .directory import Directory, load_directory, slug
from .errors import ConfigError, ConfigErrors
from .hours import HoursError, OpeningHours, parse_week
from .numberplan import NATIONAL, NumberRejected, digits_of, parse
from .paths import recording, recordings_dir
from .rtp import EXTERNAL_MEDIA
from .speech.deadline import Deadline
from .text import fold
from .vocabulary import CONFIRM_FAMILIES, Prompt, PromptFamily, prompt_id

EXAMPLE = resources.EXAMPLE_CONFIG

# A dial string reaches one trunk: technology/resource, nothing Dial() would read as
# options, a second destination (&) or an argument separator (,).
_DIAL_STRING = re.compile(r"^(PJSIP|SIP|IAX2|DAHDI|Local)/[A-Za-z0-9_.@+:-]+$")
# A PJSIP endpoint name: the dialplan builds PJSIP/<number>@<endpoint> from it.
_ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

# Recognitions side by side (`speech.workers`), each on `cpus // workers` of the model's
# threads: on the two-core node two of one thread each get through more names per second than
# one of two (bench/soak.md, recognition workers).
DEFAULT_WORKERS = 2
MAX_WORKERS = 32

LANGUAGES = ("nl", "en")  # prompt sets spoken by espeak-ng; recordings may replace any prompt
# Prompt sets an area can choose that exist only as the operator's recordings: Frisian has no
# voice here, and a synthetic one would be a fake.
RECORDED_LANGUAGES = ("fy",)


@dataclass(frozen=True)
class Department:
    """A department of a municipality that callers may ask for by what they call about."""
    name: str
    phrases: tuple[str, ...]  # what callers say about it ("paspoort", "grofvuil"), scored like names
    trunk: str                # its own line; the municipality's trunk is its overflow
    key: str                  # the digit that chooses it at the question ("1".."9")


@dataclass(frozen=True)
class Connection:
    """A connected municipality: the trunk that reaches its contact centre."""
    name: str
    slug: str
    trunk: str
    overflow: str | None
    hours: OpeningHours | None = None  # None: always open
    after_hours: str | None = None     # dialled outside hours; None: the caller hears the hours
    english: str | None = None         # where English-speaking callers go; None: the trunk
    # Asked about once the municipality is known ("Waarover belt u?"), in keypad order;
    # anything not surely one of them goes to `trunk`, the general line.
    departments: tuple[Department, ...] = ()

    def department(self, key: str) -> Department | None:
        return next((d for d in self.departments if d.key == key), None)

    def department_confirm(self, department: Department) -> str:
        """The prompt id of "Over paspoort?" about one of its departments."""
        return prompt_id(PromptFamily.DEPARTMENT_CONFIRM, f"{self.slug}/{slug(department.name)}")


@dataclass(frozen=True)
class Outbound:
    """A municipality whose staff call citizens showing its 14+ number (CLIP)."""
    municipality: str
    slug: str
    number: str  # the 14+ number in national form, "140229": it cannot be dialled from abroad,
                 # so an E.164 form would promise callers something it does not do
    trunk: str   # the PJSIP endpoint the calls leave over


@dataclass(frozen=True)
class AreaPlan:
    code: str
    municipalities: tuple[str, ...]  # everyone behind the code, from the directory
    connected: tuple[str, ...]       # those this installation serves, in keypad-menu order
    default: str | None              # where a caller who cannot be understood goes
    language: str | None = None      # the area's prompt set (e.g. fy); None: the service's

    @property
    def menu_prompt(self) -> str:
        """The keypad menu's prompt id, named by the order of its keys as well as the area: a
        call that began before a reload that reorders the menu plays the menu whose keys it
        holds (`prompts.install` keeps a file one install longer than it is needed)."""
        order = hashlib.sha256("\n".join(self.connected).encode()).hexdigest()[:8]
        return prompt_id(PromptFamily.MENU, f"{self.code}-{order}")


@dataclass(frozen=True)
class NationalPlan:
    """One number (or a few) for every municipality of the country: a caller names any
    municipality, or their town or village, and is put through to it when it is connected here,
    or told its 14+ number."""
    numbers: tuple[str, ...]  # digits, as numberplan.digits_of gives them
    default: str | None       # a connected municipality for callers not understood; None: they
                              # are told to dial 14 and their area code (there is no keypad menu
                              # of 342 municipalities)


@dataclass(frozen=True)
class Thresholds:
    accept: float   # at or above: transfer at once
    confirm: float  # at or above, below accept: "Bedoelt u …?"
    # The answer to "Bedoelt u …?", from its own fitted model (speech/policy.yaml): ja at or
    # above `reply_yes` transfers, so it is strict; nee at or above `reply_no` asks for the
    # name again. (Not `yes:`/`no:`: YAML 1.1 reads those keys as booleans.)
    reply_yes: float
    reply_no: float
    # After a nee to the likeliest municipality, the next is asked about ("Of bedoelt u …?")
    # when it is at least this likely; else the caller is asked for the name again.
    runner_up: float
    # A department heard at least this likely is put through to; below, the general line.
    # Strict: the general line still helps a caller, a wrong department does not
    # (bench/dialogue.md, departments: chosen on the tune callers).
    department: float = 0.85
    # A department heard at least this likely, but below `department`, is asked about ("Over
    # paspoort?"): ja (or key 1) puts through to it, anything else to the general line. One
    # question at most: the caller is never asked a second (bench/dialogue.md, departments:
    # chosen on the tune callers). Below `department`, above 0.
    department_confirm: float = 0.5
    # A ja whose transcript does not start with a ja word ("Satuutekin" for a "Natuurlijk
    # niet." in car noise) rests on the audio alone: it needs this much (bench/recognition.md,
    # the ja bar: no clean ja lost on the tune replies, a nee and three other answers no
    # longer taken for a ja on real lines). Never below `reply_yes`, whatever it is set to.
    reply_yes_unwritten: float = 0.85
    # A caller's name takes that on average look this likely to name nothing (the no-name
    # gate's probability, below its own bar of 0.5), the latest at least half as likely, ask
    # for the name again, not about a town picked from the noise; a sure own name still
    # transfers. 1: never (bench/dialogue.md, people as whole callers: chosen on the tune callers).
    no_name_doubt: float = 0.25


@dataclass(frozen=True)
class ListenSettings:
    attempts: int                  # spoken attempts before the keypad menu
    no_input_ms: int               # silence after the question that counts as an attempt
    max_speech_ms: int             # an utterance is cut off here
    menu_attempts: int             # keypad menu plays before the default municipality
    menu_timeout_ms: int
    recognition_deadline_ms: int   # a slower recognition counts as not understood (speech/deadline.py)
    questions: int                 # "Bedoelt u …?" questions per name said, at most
    busy_wait_ms: int              # new callers go to the keypad when recognition would wait longer

    @property
    def deadline(self) -> Deadline:
        """What the call flow and the speech service do as time runs out (`speech.deadline`)."""
        return Deadline(self.recognition_deadline_ms, self.max_speech_ms, busy_wait_ms=self.busy_wait_ms)


@dataclass(frozen=True)
class SpeechSettings:
    """The recogniser (`speech:`). `workers`: recognitions side by side, the model's cores
    shared out among them (`speech.service`); changed only when the app restarts."""
    workers: int


@dataclass(frozen=True)
class RecordSettings:
    path: str | None           # SQLite file; None: <state dir>/records.db
    url: str | None            # postgresql://… for larger operators, instead of path
    retention_days: int        # records and transcripts older than this are purged
    keep_audio: bool           # utterance audio is kept only when asked for, for tuning
    audio_retention_days: int
    audio_dir: str | None = None  # kept audio; None: `audio/` beside the SQLite file (PostgreSQL: the state dir)
    spool_max: int = 50000     # calls the spool holds while the store is down; past it they are lost, loudly
    caller_key: str | None = None  # the caller-hashing secret kept elsewhere; None: <state dir>/caller.key


@dataclass(frozen=True)
class HistorySettings:
    """A caller's own history as a suggestion (`history:`): the municipality this caller was
    put through to from the same area within the last `days` (0: off, the default) is
    `odds` times likelier in what the caller is asked about. It never puts a call through on
    its own: a transfer without a question still rests on what the caller said."""
    days: int
    odds: float

    @property
    def on(self) -> bool:
        return self.days > 0


@dataclass(frozen=True)
class AsteriskSettings:
    """The Asterisk the app serves (`asterisk:`): the bundled one by default, or the operator's."""
    ari_url: str = "http://127.0.0.1:8088/"
    # An ARI user of the operator's own (ari.conf), its password read from a file or an
    # environment variable; None: the user `asterisk install` generates (state dir).
    ari_user: str | None = None
    ari_password_file: str | None = None
    ari_password_env: str | None = None
    # How the ARI app hears the caller: the externalMedia channel's format (`rtp.EXTERNAL_MEDIA`).
    # ulaw, or slin (8 kHz linear), so an A-law caller reaches the recogniser companded once
    # (their line's A-law) instead of twice (A-law, then μ-law): bench/recognition.md.
    ari_media: str = "ulaw"
    agi_host: str = "127.0.0.1"   # where `fourteenplus agi` listens and the dialplan's AGI() connects
    agi_port: int = 4573
    # Where Asterisk's manager (AMI) listens, for `status` and the FastAGI server's dial results;
    # the user is always the generated one (`asterisk install` includes it in manager.conf).
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    conf: str | None = None       # asterisk.conf as Asterisk sees it; None: /etc/asterisk/asterisk.conf
    directories: dict[str, str] = field(default_factory=dict)  # astdatadir … over what asterisk.conf says


@dataclass(frozen=True)
class Service:
    source: str
    directory: Directory
    language: str
    thresholds: Thresholds
    listen: ListenSettings
    areas: dict[str, AreaPlan]
    connections: dict[str, Connection]
    records: RecordSettings
    # Geographic numbers for callers from abroad (digits as numberplan.digits_of gives them)
    # → ("municipality", name) or ("area", code).
    numbers: dict[str, tuple[str, str]] = field(default_factory=dict)
    outbound: dict[str, Outbound] = field(default_factory=dict)  # municipality → its CLIP
    warnings: tuple[ConfigError, ...] = field(default=())
    history: HistorySettings = field(default=HistorySettings(0, 4.0))
    asterisk: AsteriskSettings = field(default_factory=AsteriskSettings)
    national: NationalPlan | None = None
    speech: SpeechSettings = field(default=SpeechSettings(DEFAULT_WORKERS))

    def plan(self, code: str) -> AreaPlan:
        """The plan for an area code from the directory; unconfigured areas have no connections.
        `numberplan.NATIONAL` (a national number is configured): every municipality of the
        country, those with a trunk connected."""
        if code == NATIONAL and self.national is not None:
            return AreaPlan(NATIONAL, tuple(self.directory.municipalities), tuple(sorted(self.connections)),
                            self.national.default)
        if code in self.areas:
            return self.areas[code]
        return AreaPlan(code, self.directory.areas[code].municipalities, (), None)

    def municipality(self, name: str) -> Connection:
        return self.connections[name]

    def prompt_ids(self, code: str) -> tuple[str, ...]:
        """Every prompt a caller of this area can hear once the area code is known: the
        question and the menu (shared areas, with the busy apology and the default's
        announcement), the confirmations, closed messages and department questions of its
        municipalities, and the dialplan's trunk-failed message."""
        plan = self.plan(code)
        ids: list[str] = [Prompt.TRUNK_FAILED, Prompt.GOODBYE]
        if code == NATIONAL:
            return tuple(ids + self._national_prompt_ids(plan))
        if len(plan.connected) > 1:
            ids += [Prompt.QUESTION, Prompt.AGAIN, Prompt.NO_NAME, Prompt.MENU_AGAIN, Prompt.NOT_CONNECTED,
                    plan.menu_prompt, Prompt.REPLY_KEYS, Prompt.BUSY]
            ids += [prompt_id(PromptFamily.DEFAULT, self.municipality(plan.default).slug)] if plan.default else []
            ids += [prompt_id(family, self.municipality(name).slug)
                    for name in plan.connected for family in CONFIRM_FAMILIES]
        ids += [prompt_id(PromptFamily.CLOSED, self.municipality(name).slug)
                for name in plan.connected if self.municipality(name).hours]
        ids += [prompt_id(PromptFamily.DEPARTMENT, self.municipality(name).slug) for name in plan.connected
                if self.municipality(name).departments]
        ids += [self.municipality(name).department_confirm(d) for name in plan.connected
                for d in self.municipality(name).departments]
        return tuple(ids)

    def _national_prompt_ids(self, plan: AreaPlan) -> list[str]:
        """A national caller may name any municipality: each can be asked about, and each that
        is not connected here has its 14+ number told. (The villages that share a name across
        municipalities have prompts of their own, made from the grammars: `prompts`.)"""
        municipalities = self.directory.municipalities
        ids: list[str] = [Prompt.QUESTION, Prompt.AGAIN, Prompt.NO_NAME, Prompt.REPLY_KEYS, Prompt.DIAL_AREA]
        ids += [prompt_id(PromptFamily.DEFAULT, self.municipality(plan.default).slug)] if plan.default else []
        ids += [prompt_id(family, municipalities[name].slug)
                for name in plan.municipalities for family in CONFIRM_FAMILIES]
        ids += [prompt_id(PromptFamily.REACHABLE, municipalities[name].slug)
                for name in plan.municipalities if name not in plan.connected]
        ids += [prompt_id(PromptFamily.CLOSED, self.municipality(name).slug)
                for name in plan.connected if self.municipality(name).hours]
        return ids


def config_path(explicit: str | None = None) -> Path:
    """--config, else $FOURTEENPLUS_CONFIG, else the shipped example in a checkout (what `make
    run` and the tests use) and the operator's /etc/fourteenplus/fourteenplus.yaml anywhere else."""
    return Path(explicit or os.environ.get("FOURTEENPLUS_CONFIG") or (EXAMPLE if paths.CHECKOUT else paths.OPERATOR_CONFIG))


DEFAULTS: dict[str, Any] = {
    "language": "nl",
    "thresholds": {"accept": 0.99, "confirm": 0.10, "reply_yes": 0.80, "reply_no": 0.50, "runner_up": 0.05,
                   "department": 0.85, "department_confirm": 0.5, "reply_yes_unwritten": 0.85, "no_name_doubt": 0.25},
    "listen": {"attempts": 2, "no_input_ms": 5000, "max_speech_ms": 8000, "menu_attempts": 2,
               "menu_timeout_ms": 6000, "recognition_deadline_ms": 1500, "questions": 3, "busy_wait_ms": 3000},
    "records": {"path": None, "url": None, "retention_days": 90, "keep_audio": False,
                "audio_retention_days": 7, "audio_dir": None, "spool_max": 50000, "caller_key": None},
    "history": {"days": 0, "odds": 4.0},
    "speech": {"workers": DEFAULT_WORKERS},
}
_COUNTS = ("attempts", "menu_attempts", "questions")  # listen settings that count, not milliseconds
TOP_KEYS = ("language", "thresholds", "listen", "records", "history", "municipalities", "areas", "numbers", "outbound",
            "asterisk", "national", "speech")
NATIONAL_KEYS = ("numbers", "default")
MUNICIPALITY_KEYS = ("trunk", "overflow", "hours", "closed", "holidays", "after_hours", "english", "departments")
DEPARTMENT_KEYS = ("phrases", "trunk", "key")
# Key 0 is no department's: at the department question it is the general line.
DEPARTMENT_DIGITS = tuple("123456789")
# What callers say at the department question that names no department, scored against the
# audio beside the departments' phrases with the municipality's own name, as the general
# line's: a caller who says something else then hears it win, rather than the department
# whose phrase sounds nearest (bench/dialogue.md, departments). No department may list them.
# The sentences departments are said in, said without one ("ik wil iemand spreken"), are
# among them: scored in the caller's own words (`Matcher.said_around`), a department would
# otherwise fit such a sentence better than anything of the general line's.
NOT_A_DEPARTMENT = ("nee", "iets anders", "ik weet het niet", "een vraag", "hallo", "ik heb een vraag",
                    "ik wil iemand spreken")


class _Collector:
    def __init__(self):
        self.errors: list[ConfigError] = []
        self.warnings: list[ConfigError] = []

    def keys(self, node: yamlfile.Node, allowed: tuple[str, ...], what: str) -> None:
        for key in node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of {', '.join(allowed)}"
                if isinstance(key, bool):  # `yes:` or `no:` unquoted
                    hint = f" (YAML reads an unquoted yes/no/on/off as {key}); expected one of {', '.join(allowed)}"
                self.errors.append(node.error(f"unknown key '{key}' in {what}{hint}", key))

    def mapping(self, parent: yamlfile.Node, key: str, required: bool = False) -> yamlfile.Node | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.errors.append(parent.error(f"missing '{key}'"))
            return None
        if not isinstance(value, yamlfile.Node):
            self.errors.append(parent.error(f"'{key}' must be a mapping", key))
            return None
        return value


def _number(c: _Collector, node: yamlfile.Node | None, key: str, default, kind, low, high):
    if node is None or key not in node:
        return default
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        c.errors.append(node.error(f"'{key}' must be a {'whole ' if kind is int else ''}number", key))
        return default
    if not low <= value <= high:
        c.errors.append(node.error(f"'{key}' must be between {low} and {high}, not {value}", key))
        return default
    return kind(value)


def _closest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def load_service(path: str | Path | None = None, directory: Directory | None = None) -> Service:
    path = config_path(str(path) if path else None)
    data = yamlfile.load(path)
    directory = directory or load_directory()
    c = _Collector()
    if not isinstance(data, yamlfile.Node):
        raise ConfigErrors([ConfigError("the configuration must be a mapping at the top", str(path), 1, 1)])
    c.keys(data, TOP_KEYS, "the configuration")

    language = data.get("language", DEFAULTS["language"])
    if language not in LANGUAGES:
        c.errors.append(data.error(f"'language' must be one of {', '.join(LANGUAGES)}, not {language!r}", "language"))

    th = c.mapping(data, "thresholds")
    if th is not None:
        c.keys(th, tuple(DEFAULTS["thresholds"]), "thresholds")
    thresholds = Thresholds(*(_number(c, th, k, v, float, 0.0, 1.0) for k, v in DEFAULTS["thresholds"].items()))
    if th is not None and thresholds.confirm > thresholds.accept:  # the defaults are in order
        c.errors.append(th.error(f"'confirm' ({thresholds.confirm}) must not be above 'accept' ({thresholds.accept})", "confirm"))
    if th is not None and not 0 < thresholds.department_confirm < thresholds.department:
        where = "department_confirm" if "department_confirm" in th else "department"
        c.errors.append(th.error(f"'department_confirm' ({thresholds.department_confirm}) must be above 0 and below "
                                 f"'department' ({thresholds.department}): between them a department is asked "
                                 "about", where))

    li = c.mapping(data, "listen")
    if li is not None:
        c.keys(li, tuple(DEFAULTS["listen"]), "listen")
    listen = ListenSettings(*(
        _number(c, li, k, v, int, 0 if k in _COUNTS else 100, 10 if k in _COUNTS else 60000)
        for k, v in DEFAULTS["listen"].items()))

    records = _records(c, data)
    history = _history(c, data, records)
    asterisk = _asterisk(c, data)
    sp = c.mapping(data, "speech")
    if sp is not None:
        c.keys(sp, tuple(DEFAULTS["speech"]), "speech")
    speech = SpeechSettings(_number(c, sp, "workers", DEFAULT_WORKERS, int, 1, MAX_WORKERS))

    connections = _connections(c, data, directory)
    areas = _areas(c, data, directory, connections, required="national" not in data)
    numbers = _numbers(c, data, directory, areas)
    outbound = _outbound(c, data, directory, areas)
    national = _national(c, data, directory, connections, numbers)
    for name in connections:
        if national is None and not any(name in plan.connected for plan in areas.values()):
            c.warnings.append(data["municipalities"].error(f"{name} has a trunk but is connected in no area", name))

    if c.errors:
        raise ConfigErrors(c.errors)
    service = Service(str(path), directory, language, thresholds, listen, areas, connections,
                      records, numbers, outbound, tuple(c.warnings), history, asterisk, national, speech)
    _check_recordings(c, data, service)
    if c.errors:
        raise ConfigErrors(c.errors)
    return service



def _records(c: _Collector, data: yamlfile.Node) -> RecordSettings:
    defaults = DEFAULTS["records"]
    rec = c.mapping(data, "records")
    if rec is None:
        return RecordSettings(**defaults)
    c.keys(rec, tuple(defaults), "records")
    values = dict(defaults)
    for key in ("path", "url", "audio_dir", "caller_key"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            c.errors.append(rec.error(f"'{key}' must be text", key))
        else:
            values[key] = rec.get(key)
    if values["caller_key"] and not os.path.isabs(values["caller_key"]):
        c.errors.append(rec.error("'caller_key' must be an absolute path", "caller_key"))
        values["caller_key"] = None
    if values["url"] and not values["url"].startswith(("postgresql://", "postgres://", "sqlite:///")):
        c.errors.append(rec.error("'url' must start with postgresql:// or sqlite:///", "url"))
    if values["url"] and values["path"]:
        c.errors.append(rec.error("give 'path' or 'url', not both", "url"))
    if not isinstance(rec.get("keep_audio", False), bool):
        c.errors.append(rec.error("'keep_audio' must be true or false", "keep_audio"))
    else:
        values["keep_audio"] = rec.get("keep_audio", False)
    for key in ("retention_days", "audio_retention_days"):
        values[key] = _number(c, rec, key, defaults[key], int, 1, 3650)
    values["spool_max"] = _number(c, rec, "spool_max", defaults["spool_max"], int, 1, 10_000_000)
    return RecordSettings(**values)


def _history(c: _Collector, data: yamlfile.Node, records: RecordSettings) -> HistorySettings:
    defaults = DEFAULTS["history"]
    node = c.mapping(data, "history")
    if node is None:
        return HistorySettings(**defaults)
    c.keys(node, tuple(defaults), "history")
    days = _number(c, node, "days", defaults["days"], int, 0, 3650)
    if days > records.retention_days:  # what is purged cannot be remembered
        c.errors.append(node.error(f"'days' ({days}) must not be more than records.retention_days "
                                   f"({records.retention_days}): a caller's history is what the records keep", "days"))
    return HistorySettings(days, _number(c, node, "odds", defaults["odds"], float, 1.0, 100.0))
def _address(c: _Collector, section: yamlfile.Node, key: str, what: str, values: dict[str, Any]) -> yamlfile.Node | None:
    """`asterisk.<key>: {host, port}` into values' <key>_host and <key>_port; the mapping, if given."""
    node = c.mapping(section, key)
    if node is None:
        return None
    c.keys(node, ("host", "port"), f"asterisk.{key}")
    host = node.get("host", getattr(AsteriskSettings, f"{key}_host"))
    try:
        if not isinstance(host, str):
            raise ValueError(host)
        values[f"{key}_host"] = str(ipaddress.ip_address(host))
    except ValueError:
        c.errors.append(node.error(f"'host' must be {what}, not {host!r}", "host"))
    values[f"{key}_port"] = _number(c, node, "port", getattr(AsteriskSettings, f"{key}_port"), int, 1, 65535)
    return node


def _asterisk(c: _Collector, data: yamlfile.Node) -> AsteriskSettings:
    """`asterisk:`: where ARI is and whose user the app logs in as, where FastAGI listens, where
    AMI is, and which asterisk.conf (or which directories) says where Asterisk keeps its files."""
    section = c.mapping(data, "asterisk")
    if section is None:
        return AsteriskSettings()
    c.keys(section, ("ari", "agi", "ami", "asterisk_conf", "directories"), "asterisk")
    values: dict[str, Any] = {}
    ari = c.mapping(section, "ari")
    if ari is not None:
        c.keys(ari, ("url", "user", "password_file", "password_env", "media"), "asterisk.ari")
        for key in ("url", "user", "password_file", "password_env", "media"):
            if key in ari and (not isinstance(ari[key], str) or not ari[key]):
                c.errors.append(ari.error(f"'{key}' must be text", key))
            elif key in ari:
                values[f"ari_{key}"] = ari[key]
        media = values.get("ari_media")
        if media is not None and media not in EXTERNAL_MEDIA:
            c.errors.append(ari.error(f"'media' must be one of {', '.join(EXTERNAL_MEDIA)}, not {media!r}", "media"))
        url = values.get("ari_url")
        if url is not None and not re.match(r"^https?://[^/\s]+/?$", url):
            c.errors.append(ari.error(f"'url' must be http(s)://host:port/, not {url!r}", "url"))
        elif url is not None:
            values["ari_url"] = url.rstrip("/") + "/"
        secrets = [key for key in ("password_file", "password_env") if key in ari]
        if "user" in ari and len(secrets) != 1:
            c.errors.append(ari.error("an ARI 'user' of your own needs its password from one of "
                                      "'password_file' or 'password_env'", "user"))
        elif secrets and "user" not in ari:
            c.errors.append(ari.error(f"'{secrets[0]}' without 'user': the generated user has its own password",
                                      secrets[0]))
        password_file = values.get("ari_password_file")
        if password_file is not None and not os.path.isabs(password_file):
            c.errors.append(ari.error("'password_file' must be an absolute path", "password_file"))
    agi = _address(c, section, "agi", "an IP address Asterisk can connect to", values)
    if agi is not None and values.get("agi_host") in ("0.0.0.0", "::"):
        c.errors.append(agi.error("'host' is also where Asterisk connects to: name one address, not any", "host"))
    _address(c, section, "ami", "the IP address Asterisk's manager listens on", values)
    conf = section.get("asterisk_conf")
    if conf is not None:
        if not isinstance(conf, str) or not os.path.isabs(conf):
            c.errors.append(section.error("'asterisk_conf' must be an absolute path", "asterisk_conf"))
        else:
            values["conf"] = conf
    directories = c.mapping(section, "directories")
    if directories is not None:
        c.keys(directories, DIRECTORIES, "asterisk.directories")
        for key, value in directories.items():
            if not isinstance(value, str) or not os.path.isabs(value):
                c.errors.append(directories.error(f"'{key}' must be an absolute path", key))
            elif key in DIRECTORIES:
                values.setdefault("directories", {})[key] = value.rstrip("/") or "/"
    return AsteriskSettings(**values)


def _dial_string(c: _Collector, node: yamlfile.Node, key: str) -> str | None:
    value = node.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _DIAL_STRING.match(value):
        c.errors.append(node.error(
            f"'{key}' must be one dial string such as PJSIP/hoorn@trunk-hoorn, not {value!r}", key))
        return None
    return value


def _connections(c: _Collector, data: yamlfile.Node, directory: Directory) -> dict[str, Connection]:
    section = c.mapping(data, "municipalities", required=True)
    out: dict[str, Connection] = {}
    if section is None:
        return out
    for name, node in section.items():
        if name not in directory.municipalities:
            c.errors.append(section.error(
                f"unknown municipality '{name}'{_closest(str(name), directory.municipalities)}", name))
            continue
        if not isinstance(node, yamlfile.Node):
            c.errors.append(section.error(f"{name} needs a mapping with 'trunk'", name))
            continue
        c.keys(node, MUNICIPALITY_KEYS, name)
        trunk = _dial_string(c, node, "trunk")
        if "trunk" not in node:
            c.errors.append(section.error(f"{name} has no 'trunk'", name))
        dial = {key: _dial_string(c, node, key) for key in ("overflow", "after_hours", "english")}
        hours = _hours(c, node, name)
        departments = _departments(c, node, name)
        if trunk:
            out[name] = Connection(name, directory.municipalities[name].slug, trunk, hours=hours,
                                   departments=departments, **dial)
    return out


def _departments(c: _Collector, node: yamlfile.Node, municipality: str) -> tuple[Department, ...]:
    section = c.mapping(node, "departments")
    if section is None:
        return ()
    out: list[Department] = []
    said: dict[str, str] = {}  # folded phrase → the department that has it
    keys: dict[str, str] = {}
    for name, entry in section.items():
        if not isinstance(name, str) or not name.strip():
            c.errors.append(section.error(f"a department of {municipality} needs a name, not {name!r}", name))
            continue
        if not isinstance(entry, yamlfile.Node):
            c.errors.append(section.error(f"department {name} of {municipality} needs a mapping with "
                                          "'phrases', 'trunk' and 'key'", name))
            continue
        c.keys(entry, DEPARTMENT_KEYS, f"department {name} of {municipality}")
        for required in DEPARTMENT_KEYS:
            if required not in entry:
                c.errors.append(section.error(f"department {name} of {municipality} has no '{required}'", name))
        trunk = _dial_string(c, entry, "trunk")
        phrases = _phrases(c, entry, name, municipality, said)
        value = entry.get("key")
        digit = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if "key" not in entry:
            pass
        elif digit not in DEPARTMENT_DIGITS:
            c.errors.append(entry.error(f"'key' of department {name} must be one digit 1 to 9 (0 is the "
                                        f"general line), not {value!r}", "key"))
        elif digit in keys:
            c.errors.append(entry.error(f"key {digit} of department {name} is already {keys[digit]}'s", "key"))
        else:
            keys[digit] = name
        if trunk and phrases and keys.get(digit) == name:
            out.append(Department(name, phrases, trunk, digit))
    if not section:
        c.errors.append(node.error(f"'departments' of {municipality} lists none: leave the key out", "departments"))
    return tuple(sorted(out, key=lambda d: d.key))


def _phrases(c: _Collector, entry: yamlfile.Node, name: str, municipality: str,
             said: dict[str, str]) -> tuple[str, ...]:
    """A department's phrases: text, each said of one department of the municipality only
    (compared folded, as the recogniser compares names)."""
    listed = entry.get("phrases")
    if listed is None:
        return ()
    if not isinstance(listed, yamlfile.Seq) or not listed:
        c.errors.append(entry.error(f"'phrases' of department {name} must be a list such as [paspoort, rijbewijs]",
                                    "phrases"))
        return ()
    phrases: list[str] = []
    general = {fold(words) for words in (municipality, *NOT_A_DEPARTMENT)}
    for index, phrase in enumerate(listed):
        key = fold(phrase) if isinstance(phrase, str) else ""
        if not key:
            c.errors.append(listed.error(f"a phrase of department {name} must be words, not {phrase!r}", index))
        elif key in general:
            c.errors.append(listed.error(f"{phrase!r} is what callers say for {municipality}'s general line at the "
                                         f"department question ({municipality}, {', '.join(NOT_A_DEPARTMENT)}): "
                                         f"department {name} cannot have it", index))
        elif key in said:
            where = "twice" if said[key] == name else f"also under {said[key]}"
            c.errors.append(listed.error(f"{phrase!r} is listed {where} in {municipality}'s departments: "
                                         "a caller who says it must reach one department", index))
        else:
            said[key] = name
            phrases.append(phrase)
    return tuple(phrases)


def _hours(c: _Collector, node: yamlfile.Node, name: str) -> OpeningHours | None:
    if "hours" not in node:
        for key in ("closed", "holidays", "after_hours"):
            if key in node:
                c.errors.append(node.error(f"'{key}' needs 'hours' for {name}", key))
        return None
    spec = node["hours"]
    if not isinstance(spec, yamlfile.Node):
        c.errors.append(node.error("'hours' must map days to times, e.g. mon-fri: 08:30-17:00", "hours"))
        return None
    try:
        week = parse_week(spec)
    except HoursError as exc:
        c.errors.append(spec.error(f"hours of {name}: {exc}"))
        return None
    closed = node.get("closed") or []
    if not isinstance(closed, list) or not all(isinstance(d, dt.date) for d in closed):
        c.errors.append(node.error("'closed' must be a list of dates such as 2026-12-24", "closed"))
        closed = []
    observe = node.get("holidays", True)
    if not isinstance(observe, bool):
        c.errors.append(node.error("'holidays' must be true or false", "holidays"))
        observe = True
    return OpeningHours(week, frozenset(closed), observe)


def _numbers(c: _Collector, data: yamlfile.Node, directory: Directory,
             areas: dict[str, AreaPlan]) -> dict[str, tuple[str, str]]:
    section = c.mapping(data, "numbers")
    out: dict[str, tuple[str, str]] = {}
    if section is None:
        return out
    for number, node in section.items():
        try:
            digits = digits_of(str(number))
        except NumberRejected as exc:
            c.errors.append(section.error(f"number {number!r}: {exc}", number))
            continue
        if digits.startswith("14"):
            c.errors.append(section.error(f"{number!r} is a 14+ number; 'numbers' holds the geographic "
                                          "numbers callers from abroad dial", number))
            continue
        if not isinstance(node, yamlfile.Node) or len(node) != 1 or not set(node) <= {"municipality", "area"}:
            c.errors.append(section.error(f"number {number!r} needs exactly one of 'municipality' or 'area'", number))
            continue
        (kind, target), = node.items()
        if kind == "municipality" and not any(target in plan.connected for plan in areas.values()):
            c.errors.append(node.error(f"{target!r} is not a connected municipality", kind))
        elif kind == "area" and target not in areas:
            c.errors.append(node.error(f"area {target!r} is not answered by this configuration", kind))
        elif digits in out:
            c.errors.append(section.error(f"number {number!r} is given twice", number))
        else:
            out[digits] = (kind, target)
    return out


def _areas(c: _Collector, data: yamlfile.Node, directory: Directory,
           connections: dict[str, Connection], required: bool = True) -> dict[str, AreaPlan]:
    section = c.mapping(data, "areas", required=required)
    out: dict[str, AreaPlan] = {}
    if section is None:
        return out
    for code, node in section.items():
        if code not in directory.areas:
            c.errors.append(section.error(f"unknown area code {code!r}{_closest(str(code), directory.areas)}", code))
            continue
        if not isinstance(node, yamlfile.Node) or not isinstance(node.get("municipalities"), yamlfile.Seq):
            c.errors.append(section.error(f"area {code} needs a list 'municipalities'", code))
            continue
        c.keys(node, ("municipalities", "default", "language"), f"area {code}")
        area_language = node.get("language")
        if area_language is not None and area_language not in LANGUAGES + RECORDED_LANGUAGES:
            c.errors.append(node.error(f"'language' of area {code} must be one of "
                                       f"{', '.join(LANGUAGES + RECORDED_LANGUAGES)}, not {area_language!r}", "language"))
            area_language = None
        behind = directory.areas[code].municipalities
        names: list[str] = []
        listed = node["municipalities"]
        for index, name in enumerate(listed):
            if not isinstance(name, str):
                c.errors.append(listed.error(f"a municipality in area {code} must be a name, not {name!r}", index))
            elif name in names:
                c.errors.append(listed.error(f"{name} is listed twice in area {code}", index))
            elif name not in directory.municipalities:
                c.errors.append(listed.error(
                    f"unknown municipality '{name}'{_closest(str(name), directory.municipalities)}", index))
            elif name not in behind:
                c.errors.append(listed.error(
                    f"{name} is not behind area code {code} (behind it: {', '.join(behind)})", index))
            elif name not in connections:
                c.errors.append(listed.error(
                    f"{name} is connected in area {code} but has no trunk under 'municipalities'", index))
            else:
                names.append(name)
        if len(listed) > 9:
            c.errors.append(node.error(f"area {code} connects {len(listed)} municipalities; the keypad menu holds 9",
                                       "municipalities"))
        default = node.get("default")
        if default is not None and default not in names:
            c.errors.append(node.error(f"default {default!r} is not one of the connected municipalities of {code}",
                                       "default"))
            default = None
        if default is None and len(names) > 1 and "default" not in node:
            c.warnings.append(section.error(
                f"area {code} is shared but has no 'default': callers who cannot be understood "
                "and press no key will hear a goodbye instead of reaching a municipality", code))
        out[code] = AreaPlan(code, behind, tuple(names), default, area_language)
    return out


def _national(c: _Collector, data: yamlfile.Node, directory: Directory, connections: dict[str, Connection],
              numbers: dict[str, tuple[str, str]]) -> NationalPlan | None:
    """`national: {numbers: ["0800 1414"], default: Hoorn}`: the numbers must be numbers, none
    of them a municipality's 14+ number or a geographic number given under `numbers`."""
    section = c.mapping(data, "national")
    if section is None:
        return None
    c.keys(section, NATIONAL_KEYS, "national")
    listed = section.get("numbers")
    if not isinstance(listed, yamlfile.Seq) or not listed:
        c.errors.append(section.error("'national' needs 'numbers', a list of the numbers callers dial, "
                                      "such as [\"0800 1414\"]", "numbers" if "numbers" in section else None))
        return None
    found: list[str] = []
    for index, number in enumerate(listed):
        try:
            digits = digits_of(str(number))
        except NumberRejected as exc:
            c.errors.append(listed.error(f"national number {number!r}: {exc}", index))
            continue
        try:
            code = parse(digits, directory.areas)
        except NumberRejected:
            pass
        else:
            c.errors.append(listed.error(f"{number!r} is the 14+ number of area {code}, not a national number", index))
            continue
        if digits in numbers:
            c.errors.append(listed.error(f"{number!r} is also under 'numbers'", index))
        elif digits in found:
            c.errors.append(listed.error(f"national number {number!r} is given twice", index))
        else:
            found.append(digits)
    default = section.get("default")
    if default is not None and default not in connections:
        c.errors.append(section.error(f"default {default!r} of the national number is no municipality with a trunk "
                                      f"under 'municipalities'{_closest(str(default), connections)}", "default"))
        default = None
    return NationalPlan(tuple(found), default)


def _outbound(c: _Collector, data: yamlfile.Node, directory: Directory,
              areas: dict[str, AreaPlan]) -> dict[str, Outbound]:
    section = c.mapping(data, "outbound")
    if section is None:
        return {}
    c.keys(section, ("trunk", "municipalities"), "outbound")
    default_trunk = _endpoint(c, section)
    listed = c.mapping(section, "municipalities", required=True)
    out: dict[str, Outbound] = {}
    if listed is None:
        return out
    for name, node in listed.items():
        node = yamlfile.Node() if node is None else node  # `Hoorn:` alone: all defaults
        if not isinstance(node, yamlfile.Node):
            c.errors.append(listed.error(f"{name} takes a mapping with 'number' and/or 'trunk', or nothing", name))
            continue
        c.keys(node, ("number", "trunk"), f"outbound {name}")
        codes = [code for code, plan in areas.items() if name in plan.connected]
        if not codes:
            c.errors.append(listed.error(f"{name!r} is not a connected municipality: it has no 14+ number "
                                         f"here to show{_closest(str(name), directory.municipalities)}", name))
            continue
        trunk = _endpoint(c, node) if "trunk" in node else default_trunk
        if trunk is None:
            if "trunk" not in node and "trunk" not in section:
                c.errors.append(listed.error(f"outbound calls of {name} need a 'trunk' (here or under 'outbound')", name))
            continue
        number = _clip_number(c, node, listed, name, codes)
        if number:
            out[name] = Outbound(name, directory.municipalities[name].slug, number, trunk)
    return out


def _endpoint(c: _Collector, node: yamlfile.Node) -> str | None:
    value = node.get("trunk")
    if value is None:
        return None
    if not isinstance(value, str) or not _ENDPOINT.match(value):
        c.errors.append(node.error(f"'trunk' must be a PJSIP endpoint name such as trunk-kpn, not {value!r}", "trunk"))
        return None
    return value


def _clip_number(c: _Collector, node: yamlfile.Node, listed: yamlfile.Node, name: str,
                 codes: list[str]) -> str | None:
    """The 14+ number a municipality shows: one that leads a citizen calling back to it."""
    ours = [f"14{code}" for code in codes]
    if "number" not in node:
        if len(ours) == 1:
            return ours[0]
        c.errors.append(listed.error(f"{name} is connected behind {', '.join(ours)}: give the 'number' "
                                     "its staff show", name))
        return None
    try:
        number = digits_of(str(node["number"]))
    except NumberRejected:
        number = None
    if number not in ours:
        c.errors.append(node.error(f"'number' {node['number']!r} of {name} must be its own 14+ number, "
                                   f"one of {', '.join(ours)}", "number"))
        return None
    return number


def _check_recordings(c: _Collector, data: yamlfile.Node, service: Service) -> None:
    """An area whose prompt set exists only as recordings must have every prompt it plays."""
    for code, plan in service.areas.items():
        if plan.language not in RECORDED_LANGUAGES:
            continue
        missing = [pid for pid in service.prompt_ids(code) if not recording(plan.language, pid)]
        if missing:
            c.errors.append(data["areas"][code].error(
                f"area {code} plays its prompts in '{plan.language}', but {len(missing)} recordings are missing "
                f"in {recordings_dir() / plan.language}: {', '.join(missing)} "
                "(one audio file per prompt, e.g. question.wav)", "language"))
