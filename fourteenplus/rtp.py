"""The RTP packet's payload (RFC 3550), for the two places that read a call's audio off UDP:
the ARI app hearing the caller, and the SIPp test caller hearing Asterisk."""

from __future__ import annotations

HEADER = 12              # fixed header; each CSRC adds 4 bytes (their count is the low nibble)
ULAW_PAYLOAD_TYPE = 0    # G.711 μ-law: the ARI app's externalMedia channel, a test caller by default
ALAW_PAYLOAD_TYPE = 8    # G.711 A-law: what Dutch carriers deliver, a test caller that offers it
PAYLOAD_TYPES = {"ulaw": ULAW_PAYLOAD_TYPE, "alaw": ALAW_PAYLOAD_TYPE}  # law → its static type (RFC 3551)
# 8 kHz signed linear (L16) as Asterisk 22 sends an externalMedia channel's slin: its first
# static mapping, RFC 3551's number for L16 stereo, but mono at 8 kHz, 20 ms (320 bytes) a
# packet, big-endian (measured over a real call; tests/integration/test_calls.py)
SLIN_PAYLOAD_TYPE = 10
# How the ARI app may hear a caller: externalMedia's `format` → the payload type Asterisk sends
# it in, and the payload's encoding for `speech.audio.decode` (L16 is in network byte order).
EXTERNAL_MEDIA = {"ulaw": (ULAW_PAYLOAD_TYPE, "ulaw"), "slin": (SLIN_PAYLOAD_TYPE, "l16")}


def type_of(packet: bytes) -> int | None:
    """The packet's payload type; None for a runt."""
    return packet[1] & 0x7F if len(packet) > HEADER else None


def payload(packet: bytes, payload_type: int) -> bytes | None:
    """The audio in `packet` if it carries `payload_type`; None for anything else (another
    payload type such as RFC 4733 keys, a runt)."""
    if len(packet) <= HEADER or packet[1] & 0x7F != payload_type:
        return None
    return packet[HEADER + 4 * (packet[0] & 0x0F):]
