"""The bundled Asterisk's account: the root's asterisk user takes the ids of a host account of
its own, and a root built before that is fixed up in place (no rebuild)."""

import os

import pytest

from fourteenplus import asterisk
from fourteenplus.asterisk_config import AsteriskError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving files to other ids needs root")

PASSWD = """root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
asterisk:x:101:101:Asterisk PBX daemon:/var/lib/asterisk:/usr/sbin/nologin
"""
GROUP = """root:x:0:
dialout:x:20:asterisk
audio:x:29:asterisk,someone
users:x:100:
asterisk:x:101:
"""


@pytest.fixture
def root(tmp_path):
    """A root as Debian's asterisk package leaves it: its user at 101, its files 101's."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    spool = tmp_path / "var/spool/asterisk"
    spool.mkdir(parents=True)
    (spool / "voicemail").write_text("")
    (tmp_path / "etc/asterisk").mkdir()
    (tmp_path / "etc/asterisk/pjsip.conf").write_text("")
    (tmp_path / "var/spool/link").symlink_to("/etc/hostname")
    for path in (spool, spool / "voicemail"):
        os.chown(path, 101, 101)
    os.chown(tmp_path / "etc/asterisk/pjsip.conf", 0, 101)  # root's, readable by the group
    os.lchown(tmp_path / "var/spool/link", 101, 101)
    return tmp_path


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def test_security_the_root_s_asterisk_takes_the_host_account_s_ids_and_what_it_owned(root):
    assert asterisk.give_ids(root, 4242, 4343)
    assert asterisk.asterisk_ids(root) == (4242, 4343)
    assert owner(root / "var/spool/asterisk") == owner(root / "var/spool/asterisk/voicemail") == (4242, 4343)
    assert owner(root / "etc/asterisk/pjsip.conf") == (0, 4343)
    assert owner(root / "var/spool/link") == (4242, 4343) and owner("/etc/hostname")[0] != 4242
    group = (root / "etc/group").read_text()
    assert "asterisk:x:4343:" in group.splitlines()
    # Not in the root's dialout and audio, which are the host's dialout and audio too.
    assert "dialout:x:20:" in group.splitlines() and "audio:x:29:someone" in group.splitlines()
    assert (root / "etc/passwd").read_text().splitlines()[:2] == PASSWD.splitlines()[:2]


def test_security_a_fixed_root_is_left_alone(root):
    asterisk.give_ids(root, 4242, 4343)
    before = (root / "etc/passwd").stat().st_mtime_ns
    assert not asterisk.give_ids(root, 4242, 4343)
    assert (root / "etc/passwd").stat().st_mtime_ns == before


def test_security_ids_another_account_of_the_root_holds_are_refused(root):
    with pytest.raises(AsteriskError, match="nobody"):
        asterisk.give_ids(root, 65534, 4343)
    with pytest.raises(AsteriskError, match="users"):
        asterisk.give_ids(root, 4242, 100)
    assert asterisk.asterisk_ids(root) == (101, 101) and owner(root / "var/spool/asterisk") == (101, 101)
