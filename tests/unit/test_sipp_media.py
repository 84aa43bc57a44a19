"""The test caller's RTP player in the law it offers (issue 27, Dutch lines): an A-law caller
sends payload type 8 and hears A-law, so a real call can prove Asterisk plays the A-law
prompts to it. Asterisk is a UDP socket here; tests/integration/test_calls.py places the call."""

from __future__ import annotations

import socket
import struct

import numpy as np
import pytest

from fourteenplus import rtp, sipp
from fourteenplus.speech import audio

from ..waiting import wait_until

TONE = (8000 * np.sin(2 * np.pi * 440 * np.arange(sipp.FRAME) / 8000)).astype(np.int16)


@pytest.fixture
def asterisk():
    """Where the caller's answer (SIPp's log line for the 200 OK) says Asterisk's RTP is."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_the_caller_speaks_and_hears_the_law_it_offers(asterisk, tmp_path, law):
    log = tmp_path / "caller.log"
    log.write_text("ANSWERED|1.0|127.0.0.1|%d\n" % asterisk.getsockname()[1])
    media = sipp._Media([sipp.Silence(200)], log, law=law)
    media.start()
    try:
        packet, caller = asterisk.recvfrom(2048)
        assert rtp.type_of(packet) == rtp.PAYLOAD_TYPES[law]
        assert rtp.payload(packet, rtp.PAYLOAD_TYPES[law]) == sipp.SILENCE[law]
        for seq in range(5):  # a prompt: a tone in the caller's law, then a key event it ignores
            asterisk.sendto(struct.pack("!BBHII", 0x80, rtp.PAYLOAD_TYPES[law], seq, seq * 160, 1)
                            + audio.encode(TONE, law), caller)
        asterisk.sendto(struct.pack("!BBHII", 0x80, 101, 5, 800, 1) + b"\x01\x0a\x00\xa0", caller)
        wait_until(lambda: sum(media.received.values()) == 6, lambda: f"6 packets heard: {media.received}")
    finally:
        media.stop()
    assert media.received == {rtp.PAYLOAD_TYPES[law]: 5, 101: 1}
    assert bytes(media.heard) == audio.encode(TONE, law) * 5
    assert len(media.loud) == 1, "the tone was heard as prompt audio"


def test_a_caller_offers_one_law_in_its_sdp():
    assert sipp.SDP_NAMES.keys() == rtp.PAYLOAD_TYPES.keys() == sipp.SILENCE.keys()
    scenario = (sipp.SCENARIOS / "caller.xml").read_text(encoding="utf-8")
    assert "m=audio [field2] RTP/AVP [field4] 101" in scenario and "a=rtpmap:[field4] [field5]/8000" in scenario
