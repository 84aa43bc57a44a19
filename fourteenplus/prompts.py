"""Prompt texts (fourteenplus/data/prompts.yaml, nl and en) → 8 kHz μ-law files for Asterisk.

Prompts land in <sounds>/fourteenplus/<language>/<prompt id>.ulaw, where the prompt id is
what the call flow plays: `question`, `again`, `no-name`, `confirm/<slug>`, `confirm-or/<slug>`,
`reply-keys`, `menu/<area code>`,
`menu-again`, `busy` (before the menu when the recognisers cannot keep up), `default/<slug>`
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
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import yaml

from . import paths, resources
from .config import DIAL_AREA, LANGUAGES, REACHABLE, RECORDED_LANGUAGES, Service
from .directory import slug
from .numberplan import NATIONAL, REASONS

SOUNDS_SUBDIR = "fourteenplus"
VOICES = {"nl": "nl", "en": "en-gb"}
SPEED = 165  # words per minute: a little brisker than espeak's default, still clear on a phone line
_MANIFEST = ".sources.json"
# Reasons that have a `number/<reason>` prompt: the number plan's, and the call flow's own.
NUMBER_REASONS = (*REASONS, "not_served")


@cache
def _all_texts() -> dict:
    return yaml.safe_load(resources.PROMPT_TEXTS.read_text())


def prompt_texts(service: Service, language: str) -> dict[str, str]:
    """Every prompt id this configuration can play in `language` → its text."""
    t = _all_texts()[language]
    out = {key: t[key] for key in ("question", "again", "no-name", "menu-again", "not-connected", "goodbye", "trunk-failed",
                                   "reply-keys", "busy")}
    out.update({f"number/{reason}": t["number"][reason] for reason in NUMBER_REASONS})
    for code, plan in service.areas.items():
        if len(plan.connected) < 2:
            continue  # a single municipality is dialled at once: no question, no menu
        out[f"menu/{code}"] = " ".join(menu_items(plan.connected, language))
        if plan.default:
            out[f"default/{service.municipality(plan.default).slug}"] = t["default"].format(name=plan.default)
        for name in plan.connected:
            for kind in ("confirm", "confirm-or"):
                out[f"{kind}/{service.municipality(name).slug}"] = t[kind].format(name=name)
    for name, conn in service.connections.items():
        if conn.hours:
            out[f"closed/{conn.slug}"] = t["closed"].format(name=name, hours=conn.hours.describe(language))
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
    out = {DIAL_AREA: t[DIAL_AREA]}
    if plan.default:
        out[f"default/{service.municipality(plan.default).slug}"] = t["default"].format(name=plan.default)
    for name, municipality in directory.municipalities.items():
        for kind in ("confirm", "confirm-or"):
            out[f"{kind}/{municipality.slug}"] = t[kind].format(name=name)
        if name not in plan.connected:
            digits = " ".join(directory.number(name)[2:])
            out[f"{REACHABLE}/{municipality.slug}"] = t[REACHABLE].format(name=name, digits=digits)
    grammars = load_grammars(directory)
    shared = grammars.shared()
    for phrase in grammars.phrases:
        owners = shared.get(phrase.key)
        if not owners:
            continue
        province = directory.municipalities[phrase.municipality].province
        others = [directory.municipalities[m].province for m in owners if m != phrase.municipality]
        where = province if province not in others else t["in-municipality"].format(name=phrase.municipality)
        for kind in ("confirm", "confirm-or"):
            pid = f"{kind}/{directory.municipalities[phrase.municipality].slug}/{slug(phrase.text)}"
            out[pid] = t[f"{kind}-place"].format(place=phrase.text, where=where)
    return out


def menu_items(connected: tuple[str, ...], language: str) -> list[str]:
    """The keypad menu's items in order ("Voor Hoorn, toets 1."), spoken as one prompt."""
    return [_all_texts()[language]["menu-item"].format(name=name, digit=i) for i, name in enumerate(connected, 1)]


def sounds_dir(root: Path) -> Path:
    """Asterisk's sounds directory inside a root (Debian's astdatadir)."""
    return root / "usr/share/asterisk/sounds"


def to_ulaw(source: Path, target: Path, effects: tuple[str, ...] = ()) -> None:
    """Any audio sox reads → headerless 8 kHz mono μ-law (what Asterisk's .ulaw format is)."""
    subprocess.run(["sox", str(source), "-t", "ul", "-r", "8000", "-c", "1", str(target), *effects],
                   check=True, capture_output=True)


def speak(text: str, language: str, target: Path) -> None:
    """Text → telephone μ-law with espeak-ng, levelled, with the leading silence cut so the
    caller hears the first word as soon as playback starts."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "tts.wav"
        subprocess.run(["espeak-ng", "-v", VOICES[language], "-s", str(SPEED), "-w", str(wav), text],
                       check=True, capture_output=True)
        to_ulaw(wav, target, ("highpass", "300", "lowpass", "3400", "norm", "-3", "silence", "1", "0.02", "1%"))


def _source(prompt_id: str, text: str, language: str) -> tuple[str, Path | None]:
    """(digest of what the prompt is made from, the operator's recording or None)."""
    recording = paths.recording(language, prompt_id)
    if recording:
        return "rec:" + hashlib.sha256(recording.read_bytes()).hexdigest(), recording
    return "tts:" + hashlib.sha256(f"{VOICES[language]}|{SPEED}|{text}".encode()).hexdigest(), None


def install(service: Service, sounds: Path, owner: tuple[int, int] | None = None) -> int:
    """Make every prompt the configuration needs under sounds/fourteenplus/<language>/, for
    every language and every recorded-only set an area uses (fy); returns how many were
    (re)made. Prompts no longer needed are removed."""
    made = sum(_install_language(service, language, sounds) for language in languages(service))
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
        if manifests[language].get(pid) != digest or not (sounds / SOUNDS_SUBDIR / language / f"{pid}.ulaw").exists():
            stale.append(key)
    return stale


def _install_language(service: Service, language: str, sounds: Path) -> int:
    base = sounds / SOUNDS_SUBDIR / language
    base.mkdir(parents=True, exist_ok=True)
    manifest_path = base / _MANIFEST
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    wanted = {pid: _source(pid, text, language) + (text,) for pid, text in _texts(service, language).items()}
    todo = [pid for pid, (digest, _, _) in wanted.items()
            if old.get(pid) != digest or not (base / f"{pid}.ulaw").exists()]

    def make(pid: str) -> None:
        digest, recording, text = wanted[pid]
        target = base / f"{pid}.ulaw"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        if recording:
            to_ulaw(recording, partial)
        else:
            speak(text, language, partial)
        partial.rename(target)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(make, todo))
    for pid in set(old) - set(wanted):
        (base / f"{pid}.ulaw").unlink(missing_ok=True)
    manifest_path.write_text(json.dumps({pid: digest for pid, (digest, _, _) in wanted.items()}, indent=1))
    return len(todo)
