"""The cluster's generated configuration: Kamailio's files, a node's Asterisk files, the records."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from fourteenplus import cluster
from fourteenplus.asterisk import CONF_DIRS
from fourteenplus_dev import cluster as harness

LAYOUT = cluster.Layout(proxy="10.0.0.10", nodes=(cluster.Node("a", "10.0.0.11"), cluster.Node("b", "10.0.0.12")),
                        carriers=("192.0.2.1", "192.0.2.2"))


def test_kamailio_files_name_the_nodes_and_carriers_and_leave_nothing_to_fill_in(tmp_path):
    files = cluster.kamailio_files(LAYOUT, tmp_path, modules="/usr/lib/kamailio/modules")
    assert "listen=udp:10.0.0.10:5060" in files["kamailio.cfg"]
    assert '"ds_ping_from", "sip:proxy@10.0.0.10"' in files["kamailio.cfg"]
    assert f'"list_file", "{tmp_path}/dispatcher.list"' in files["kamailio.cfg"]
    assert files["dispatcher.list"].splitlines() == ["1 sip:10.0.0.11:5060 8 0 duid=a", "1 sip:10.0.0.12:5060 8 0 duid=b"]
    assert files["carriers.list"].splitlines() == ["1 192.0.2.1 32 0", "1 192.0.2.2 32 0"]


@pytest.mark.skipif(not shutil.which("kamailio"), reason="kamailio is not installed (make system-packages)")
def test_kamailio_accepts_the_generated_configuration(tmp_path):
    for name, text in cluster.kamailio_files(LAYOUT, tmp_path).items():
        (tmp_path / name).write_text(text)
    done = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_node_takes_sip_media_ari_and_ami_on_its_own_address_and_callers_from_the_proxy_only():
    shipped = {p.name: p.read_text() for d in CONF_DIRS for p in d.glob("*.conf")}
    files = harness._node_conf({n: shipped[n] for n in harness.NODE_SPECIFIC}, LAYOUT.node("b"), LAYOUT, 1)
    pjsip = files["pjsip.conf"]
    assert "bind=10.0.0.12:5060" in pjsip and "media_address=10.0.0.12" in pjsip
    assert "match=10.0.0.10\n" in pjsip and "match=127.0.0.1\n" not in pjsip
    assert "bindaddr=10.0.0.12" in files["http.conf"] and "bindaddr=10.0.0.12" in files["manager.conf"]
    assert "rtpstart=23000\nrtpend=24999" in files["rtp.conf"]


def test_the_cluster_configuration_puts_the_records_in_postgresql_and_keeps_the_rest(tmp_path):
    source = tmp_path / "service.yaml"
    source.write_text("language: nl\nrecords:\n  path: /tmp/x.db\n  retention_days: 30\n")
    data = yaml.safe_load(harness.cluster_config(source, "postgresql://u@/db", tmp_path / "c.yaml").read_text())
    assert data == {"language": "nl", "records": {"path": None, "retention_days": 30, "url": "postgresql://u@/db"}}


def test_the_dispatcher_list_is_read_per_node():
    text = """{
        SET: {
            ID: 1
            TARGETS: {
                DEST: {
                    URI: sip:127.0.0.11:5060
                    FLAGS: AP
                    PRIORITY: 0
                }
                DEST: {
                    URI: sip:127.0.0.12:5060
                    FLAGS: IP
                }"""
    states = cluster.parse_dispatcher(text)
    assert states == {"sip:127.0.0.11:5060": "AP", "sip:127.0.0.12:5060": "IP"}
    assert [cluster.is_up(f) for f in states.values()] == [True, False]


def test_status_without_a_running_cluster_is_none(tmp_path):
    assert cluster.status(tmp_path / "cluster.json") is None
    (tmp_path / "cluster.json").write_text('{"control": "%s", "proxy": "127.0.0.10", "nodes": []}'
                                           % (tmp_path / "gone.ctl"))
    assert cluster.status(tmp_path / "cluster.json") is None


def _install_kamailio(out, *options):
    from fourteenplus import cli
    return cli.main(["install", "kamailio", "--out", str(out), *options])


REAL_NODES = ("--proxy", "10.0.0.10", "--node", "a=10.0.0.11", "--node", "b=10.0.0.12",
              "--carrier", "192.0.2.1", "--carrier", "192.0.2.2")


def test_install_kamailio_writes_the_files_of_the_layout_its_options_name(tmp_path, capsys):
    assert _install_kamailio(tmp_path, *REAL_NODES) == 0
    expected = cluster.kamailio_files(LAYOUT, tmp_path)
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == expected
    assert '"ds_probing_threshold", 2' in expected["kamailio.cfg"]  # one lost OPTIONS does not flap a node


@pytest.mark.skipif(not shutil.which("kamailio"), reason="kamailio is not installed (make system-packages)")
def test_kamailio_accepts_what_install_kamailio_writes(tmp_path, capsys):
    assert _install_kamailio(tmp_path, *REAL_NODES) == 0
    done = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("options, says", [
    (("--proxy", "10.0.0.10", "--carrier", "192.0.2.1"), "at least one --node"),
    (("--proxy", "10.0.0.10", "--node", "10.0.0.11", "--carrier", "192.0.2.1"), "NAME=ADDR"),
    (("--proxy", "kamailio.example", "--node", "a=10.0.0.11", "--carrier", "192.0.2.1"), "--proxy kamailio.example"),
    (("--proxy", "10.0.0.10", "--node", "a=10.0.0.11", "--node", "a=10.0.0.12", "--carrier", "192.0.2.1"), "twice"),
])
def test_install_kamailio_refuses_a_wrong_layout_and_writes_nothing(tmp_path, capsys, options, says):
    assert _install_kamailio(tmp_path / "out", *options) == 1
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
