"""`fourteenplus recognize FILE --area 0229`: what the recogniser makes of one clip."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from ..config import DEFAULTS, Thresholds

# `--area reply`: the clip is an answer to "Bedoelt u …?". Also a corpus manifest row's area
# code for such an answer (`corpus --replies`, and a callers corpus's ja's and nee's as
# `bench fit` reads them); its expected is yes, no or none.
REPLY_AREA = "reply"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="8 kHz WAV (PCM, μ-law, A-law) or raw .ul/.al/.sln")
    parser.add_argument("--area", required=True,
                        help='area code the caller dialled, e.g. 0229; "reply" for an answer to "Bedoelt u …?"')
    parser.add_argument("--json", action="store_true", help="print the Recognition as JSON")
    # The shipped thresholds, so what it prints is what an installation would decide.
    parser.add_argument("--accept", type=float, default=DEFAULTS["thresholds"]["accept"], help="accept threshold")
    parser.add_argument("--confirm", type=float, default=DEFAULTS["thresholds"]["confirm"], help="confirm threshold")
    parser.add_argument("--unprimed", action="store_true",
                        help="without the primed transcription, as the app hears names under load")
    parser.add_argument("--model", type=Path, help="a converted whisper model directory instead of the bundled one")


def main(args: argparse.Namespace) -> int:
    from ..directory import load_directory
    from ..grammar import load_grammars
    from ..speech import audio
    from ..speech.model import ModelError
    from ..speech.service import Answer, SpeechService
    from ..speech.vad import whole_clip

    directory = load_directory()
    reply = args.area == REPLY_AREA
    if not reply and args.area not in directory.areas:
        print(f"unknown area code {args.area} (or \"{REPLY_AREA}\" for a ja/nee answer)")
        return 2
    try:
        spoken = whole_clip(audio.read_telephone(args.file))  # a file: no endpointer cut it
    except (OSError, ValueError) as error:
        print(error)
        return 2
    thresholds = Thresholds(**DEFAULTS["thresholds"] | {"accept": args.accept, "confirm": args.confirm})
    service = SpeechService(load_grammars(directory), thresholds, model_path=args.model)
    try:
        # A reply is judged by its own model and thresholds (reply_yes, reply_no), as the call flow does.
        result = service.reply_now(spoken) if reply else service.recognize_now(spoken, args.area,
                                                                                 primed=not args.unprimed)
    except ModelError as error:
        print(f"model: {error}")
        return 3
    if args.json:
        print(json.dumps(asdict(result) | {"startup_s": service.startup_seconds}, ensure_ascii=False, indent=2))
        return 0
    print(f"transcript: {result.transcript!r}")
    if isinstance(result, Answer):
        said = {True: "ja", False: "nee", None: "unclear"}[result.yes]
        print(f"answer: {said} ({result.probability:.3f})")
    else:
        for candidate in result.candidates:
            print(f"  {candidate.score:6.3f}  {candidate.municipality}  (heard as {candidate.phrase!r})")
        target = f" {result.municipality}" if result.municipality else ""
        print(f"decision: {result.decision}{target} ({result.reason})")
    print("timings: " + ", ".join(f"{k} {v:.0f}" for k, v in result.timings.items()))
    return 0
