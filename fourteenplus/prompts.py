"""Prompt texts (fourteenplus/data/prompts.yaml, nl and en) → 8 kHz A-law and μ-law files for Asterisk.

Prompts land in <sounds>/fourteenplus/<language>/<prompt id>.ulaw and .alaw (Asterisk plays the
one in the caller's codec: a Dutch carrier's A-law call is not transcoded), where the prompt id is
what the call flow plays: `question`, `again`, `no-name`, `confirm/<slug>`, `confirm-or/<slug>`,
`reply-keys`, `menu/<area code>`,
`menu-again`, `busy` (before the menu when the recognisers cannot keep up), `department/<slug>`
(a municipality with departments: what the call is about, with the keys) and
`department-confirm/<slug>/<department slug>` ("Over paspoort?"), `default/<slug>`
(before an area's default municipality, so a caller always hears where they are put through), `number/<reason>`, `not-connected`, `goodbye`, `trunk-failed`, and
`closed/<slug>` for municipalities with opening hours. A national number adds, for every
municipality of the country, `confirm/<slug>` and `confirm-or/<slug>`, `reachable/<slug>` ("… is
bereikbaar op 14 0229") for those not connected here, `confirm/<slug>/<place slug>` ("Bedoelt u
Bergen in Noord-Holland?") for the places that share their name with another municipality's,
and `dial-area`; only an installation with a national number makes them. Every language is made, whatever the
configured one: a caller can switch to English at the question (key 9).

espeak-ng speaks the text and sox makes telephone audio of it. An operator who has real
recordings drops them in the recordings directory (`$FOURTEENPLUS_RECORDINGS`, else
<state dir>/recordings) as <language>/<prompt id>.<wav|mp3|flac|…>; they replace the
generated prompt of the same id. A prompt set without a voice (Frisian, `fy`, chosen per
area) is made of recordings only: the configuration refuses an area whose recordings are
incomplete. A manifest of what each file was made from keeps a re-install from
regenerating anything that did not change.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import yaml

from . import paths, resources
from .config import LANGUAGES, RECORDED_LANGUAGES, Connection, Service
from .directory import slug
from .numberplan import NATIONAL, REASONS
from .vocabulary import CONFIRM_FAMILIES, Outcome, Prompt, PromptFamily, prompt_id

SOUNDS_SUBDIR = "fourteenplus"
VOICES = {"nl": "nl", "en": "en-gb"}
SPEED = 165  # words per minute: a little brisker than espeak's default, still clear on a phone line
_MANIFEST = ".sources.json"
# The prompts installs stopped needing, each with when: kept for RETIRED_KEPT_S, because a
# call that began before a reload may still play them (a reordered menu has a new prompt id,
# and the call holds the keys of the old one), even across a second reload. An hour is far
# beyond a conversation, which the flow bounds (questions × attempts, then the keypad menu).
_RETIRED = ".retired.json"
RETIRED_KEPT_S = 3600
# Reasons that have a `number/<reason>` prompt: the number plan's, and the call flow's own.
NUMBER_REASONS = (*REASONS, Outcome.NOT_SERVED)


@cache
def _all_texts() -> dict:
    return yaml.safe_load(resources.PROMPT_TEXTS.read_text())


def prompt_texts(service: Service, language: str) -> dict[str, str]:
    """Every prompt id this configuration can play in `language` → its text."""
    t = _all_texts()[language]
    # Every single-file prompt but the national number's own (`national_texts`).
    out: dict[str, str] = {prompt: t[prompt] for prompt in Prompt if prompt != Prompt.DIAL_AREA}
    out.update({prompt_id(PromptFamily.NUMBER, reason): t[PromptFamily.NUMBER][reason] for reason in NUMBER_REASONS})
    for code, plan in service.areas.items():
        if len(plan.connected) < 2:
            continue  # a single municipality is dialled at once: no question, no menu
        out[plan.menu_prompt] = " ".join(menu_items(plan.connected, language))
        if plan.default:
            default = service.municipality(plan.default).slug
            out[prompt_id(PromptFamily.DEFAULT, default)] = t[PromptFamily.DEFAULT].format(name=plan.default)
        for name in plan.connected:
            for family in CONFIRM_FAMILIES:
                out[prompt_id(family, service.municipality(name).slug)] = t[family].format(name=name)
    for name, conn in service.connections.items():
        if conn.hours:
            out[prompt_id(PromptFamily.CLOSED, conn.slug)] = t[PromptFamily.CLOSED].format(
                name=name, hours=conn.hours.describe(language))
        if conn.departments:
            out[prompt_id(PromptFamily.DEPARTMENT, conn.slug)] = department_question(conn, language)
            out.update({conn.department_confirm(d): t[PromptFamily.DEPARTMENT_CONFIRM].format(phrase=d.phrases[0])
                        for d in conn.departments})
    if service.national:
        out.update(national_texts(service, language))
    return out


def national_texts(service: Service, language: str) -> dict[str, str]:
    """The prompts of a national number (see the module's docstring): a few thousand short
    files, made once (the manifest keeps a re-install from making them again)."""
    from .grammar import load_grammars

    t = _all_texts()[language]
    directory = service.directory
    plan = service.plan(NATIONAL)
    out = {Prompt.DIAL_AREA.value: t[Prompt.DIAL_AREA]}
    if plan.default:
        out[prompt_id(PromptFamily.DEFAULT, service.municipality(plan.default).slug)] = t["default"].format(name=plan.default)
    for name, municipality in directory.municipalities.items():
        for family in CONFIRM_FAMILIES:
            out[prompt_id(family, municipality.slug)] = t[family].format(name=name)
        if name not in plan.connected:
            digits = " ".join(directory.number(name)[2:])
            out[prompt_id(PromptFamily.REACHABLE, municipality.slug)] = t[PromptFamily.REACHABLE].format(
                name=name, digits=digits)
    grammars = load_grammars(directory)
    shared = grammars.shared()
    for phrase in grammars.phrases:
        owners = shared.get(phrase.key)
        if not owners:
            continue
        province = directory.municipalities[phrase.municipality].province
        others = [directory.municipalities[m].province for m in owners if m != phrase.municipality]
        where = province if province not in others else t["in-municipality"].format(name=phrase.municipality)
        for family in CONFIRM_FAMILIES:
            pid = prompt_id(family, f"{directory.municipalities[phrase.municipality].slug}/{slug(phrase.text)}")
            out[pid] = t[f"{family}-place"].format(place=phrase.text, where=where)
    return out


# The examples the department question names: the first phrase of this many departments.
EXAMPLES = 3


def department_question(connection: Connection, language: str) -> str:
    """"Waarover belt u? Bijvoorbeeld paspoort, afval of parkeren." with each department's key
    and the general line's (0), spoken as one prompt."""
    t = _all_texts()[language]
    examples = [d.phrases[0] for d in connection.departments[:EXAMPLES]]
    listed = examples[0] if len(examples) == 1 else f"{', '.join(examples[:-1])} {t['or']} {examples[-1]}"
    keys = [t["menu-item"].format(name=d.name, digit=d.key) for d in connection.departments]
    return " ".join([t["department"].format(examples=listed), *keys, t["department-other"]])


def menu_items(connected: tuple[str, ...], language: str) -> list[str]:
    """The keypad menu's items in order ("Voor Hoorn, toets 1."), spoken as one prompt."""
    return [_all_texts()[language]["menu-item"].format(name=name, digit=i) for i, name in enumerate(connected, 1)]


# Asterisk's headerless G.711 formats (format_pcm): file extension → sox's type.
LAWS = {"ulaw": "ul", "alaw": "al"}


def to_telephone(source: Path, targets: dict[str, Path], effects: tuple[str, ...] = ()) -> None:
    """Any audio sox reads → headerless 8 kHz mono G.711, one file per law (`targets`: law →
    path), each companded once from the source. `-R`: sox dithers at random when it reduces
    to 8 bits, so without it the same text gave a different clip each time, and a test
    caller's "Koggenland" was heard as another word in one run out of three."""
    for law, target in targets.items():
        subprocess.run(["sox", "-R", str(source), "-t", LAWS[law], "-r", "8000", "-c", "1", str(target), *effects],
                       check=True, capture_output=True)


def speak(text: str, language: str, targets: dict[str, Path]) -> None:
    """Text → telephone audio with espeak-ng, levelled, with the leading silence cut so the
    caller hears the first word as soon as playback starts."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tts.wav"
        subprocess.run(["espeak-ng", "-v", VOICES[language], "-s", str(SPEED), "-w", str(wav), text],
                       check=True, capture_output=True)
        to_telephone(wav, targets, ("highpass", "300", "lowpass", "3400", "norm", "-3", "silence", "1", "0.02", "1%"))


def _complete(base: Path, pid: str) -> bool:
    """Whether the prompt's file exists in every law."""
    return all((base / f"{pid}.{law}").exists() for law in LAWS)


def _source(prompt_id: str, text: str, language: str) -> tuple[str, Path | None]:
    """(digest of what the prompt is made from, the operator's recording or None)."""
    recording = paths.recording(language, prompt_id)
    if recording:
        return "rec:" + hashlib.sha256(recording.read_bytes()).hexdigest(), recording
    return "tts:" + hashlib.sha256(f"{VOICES[language]}|{SPEED}|{text}".encode()).hexdigest(), None


def install(service: Service, sounds: Path, owner: tuple[int, int] | None = None, now: float | None = None) -> int:
    """Make every prompt the configuration needs under sounds/fourteenplus/<language>/, for
    every language and every recorded-only set an area uses (fy); returns how many were
    (re)made. A prompt no longer needed is removed by the first install `RETIRED_KEPT_S` after
    one stopped needing it (`now`: the clock, epoch seconds): calls still in progress from
    before a reload, or two, play what they were given."""
    now = time.time() if now is None else now
    made = sum(_install_language(service, language, sounds, now) for language in languages(service))
    if owner:
        for path in [sounds / SOUNDS_SUBDIR, *(sounds / SOUNDS_SUBDIR).rglob("*")]:
            os.chown(path, *owner)
    return made


def _texts(service: Service, language: str) -> dict[str, str]:
    """The prompts to make in `language`: all of a spoken set; of a recorded-only set, those
    of the areas that use it (the configuration made sure each has a recording)."""
    if language in LANGUAGES:
        return prompt_texts(service, language)
    return {pid: "" for code, plan in service.areas.items() if plan.language == language
            for pid in service.prompt_ids(code)}


def languages(service: Service) -> tuple[str, ...]:
    """Every prompt set the configuration needs: the spoken ones, and the recorded-only sets its areas use."""
    recorded = sorted({plan.language for plan in service.areas.values() if plan.language} & set(RECORDED_LANGUAGES))
    return (*LANGUAGES, *recorded)


def sources(service: Service) -> dict[str, str]:
    """`<language>/<prompt id>` → the digest of what that prompt is made from (text or recording)."""
    return {f"{language}/{pid}": _source(pid, text, language)[0]
            for language in languages(service) for pid, text in _texts(service, language).items()}


def out_of_step(service: Service, sounds: Path) -> list[str]:
    """The prompts (`<language>/<prompt id>`) that the files under `sounds` do not say as
    `service` needs them: missing, or made from another text or recording. Reads only the
    manifests, so it is cheap enough for every reload."""
    manifests: dict[str, dict] = {}
    for language in languages(service):
        try:
            manifests[language] = json.loads((sounds / SOUNDS_SUBDIR / language / _MANIFEST).read_text())
        except (OSError, ValueError):
            manifests[language] = {}
    stale = []
    for key, digest in sources(service).items():
        language, pid = key.split("/", 1)
        if manifests[language].get(pid) != digest or not _complete(sounds / SOUNDS_SUBDIR / language, pid):
            stale.append(key)
    return stale


def _retired(path: Path) -> dict[str, float]:
    """The retired prompts and since when. An older install wrote a list: retired when it wrote it."""
    if not path.exists():
        return {}
    kept = json.loads(path.read_text())
    return kept if isinstance(kept, dict) else dict.fromkeys(kept, path.stat().st_mtime)


def _install_language(service: Service, language: str, sounds: Path, now: float) -> int:
    base = sounds / SOUNDS_SUBDIR / language
    base.mkdir(parents=True, exist_ok=True)
    manifest_path = base / _MANIFEST
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    wanted = {pid: _source(pid, text, language) + (text,) for pid, text in _texts(service, language).items()}
    todo = [pid for pid, (digest, _, _) in wanted.items()
            if old.get(pid) != digest or not _complete(base, pid)]

    def make(pid: str) -> None:
        digest, recording, text = wanted[pid]
        targets = {law: base / f"{pid}.{law}" for law in LAWS}
        base.joinpath(pid).parent.mkdir(parents=True, exist_ok=True)
        partials = {law: target.with_name(f".{target.name}.partial") for law, target in targets.items()}
        if recording:
            to_telephone(recording, partials)
        else:
            speak(text, language, partials)
        for law, partial in partials.items():
            partial.rename(targets[law])

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(make, todo))
    retired = _retired(base / _RETIRED)
    retired = {pid: retired.get(pid, now) for pid in {*retired, *old} if pid not in wanted}
    for pid in [pid for pid, since in retired.items() if now - since >= RETIRED_KEPT_S]:
        del retired[pid]
        for law in LAWS:
            (base / f"{pid}.{law}").unlink(missing_ok=True)
    (base / _RETIRED).write_text(json.dumps(dict(sorted(retired.items())), indent=1))
    manifest_path.write_text(json.dumps({pid: digest for pid, (digest, _, _) in wanted.items()}, indent=1))
    return len(todo)
