"""`fourteenplus call NUMBER [--say TEXT | --audio FILE] [--digits KEYS] [--law ulaw|alaw]`: a real
SIP test call.

Places the call with SIPp against the running Asterisk (and app), answers the question with
the sentence (espeak-ng → G.711) or the recording, presses the keys at the next prompt, and
prints on its last line where the call ended, as seen by the SIPp endpoint that plays the
municipalities' trunks (started here, on 127.0.0.1:5070, for the length of the call).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .. import sipp


def configure(parser) -> None:
    parser.add_argument("number", help="the dialled number, e.g. 140229")
    parser.add_argument("--say", metavar="TEXT", help="what the caller says after the question")
    parser.add_argument("--audio", type=Path, metavar="FILE", help="a recording the caller plays instead")
    parser.add_argument("--digits", metavar="KEYS", help="keys the caller presses at the next prompt")
    parser.add_argument("--hangup-after", type=int, default=0, metavar="MS",
                        help="the caller hangs up this long after the answer")
    parser.add_argument("--law", choices=tuple(sipp.SDP_NAMES), default="ulaw",
                        help="the one G.711 law the caller offers: ulaw (PCMU, default) or alaw (PCMA, as Dutch carriers)")
    parser.add_argument("--to", type=_address, default=sipp.ASTERISK_SIP, metavar="HOST[:PORT]",
                        help="where the INVITE goes (default 127.0.0.1:5060; a cluster's Kamailio: 127.0.0.10)")


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.partition(":")
    return host, int(port or 5060)


def main(args) -> int:
    if args.audio and not args.audio.is_file():
        print(f"error: {args.audio}: no such file", file=sys.stderr)
        return 2
    script = sipp.script_for(args.say, args.audio, args.digits)
    try:
        with sipp.Trunk() as trunk:
            result = sipp.place_call(args.number, script, trunk, hangup_after_ms=args.hangup_after, target=args.to,
                                     law=args.law)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if result.answer_to_audio_ms is not None:
        print(f"answer → first audio: {result.answer_to_audio_ms:.0f} ms")
    if result.speech_end_to_invite_ms is not None:
        print(f"end of speech → INVITE: {result.speech_end_to_invite_ms:.0f} ms")
    print(f"{args.number}: {result.describe()}")
    return 0 if result.reached or result.ended != "Asterisk never ended the call" else 1
