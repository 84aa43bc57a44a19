"""Commands from other distributions (the development package's bench, corpus, soak): found
through the `fourteenplus.commands` entry points, run like the product's own."""

from importlib.metadata import EntryPoint

import pytest

from fourteenplus import cli

COMMAND = '''"""`fourteenplus hello`: greets."""

def configure(parser):
    parser.add_argument("name")

def main(args):
    print(f"hello {args.name}")
    return 3
'''


def test_an_entry_point_command_answers_and_is_listed(tmp_path, monkeypatch, capsys):
    (tmp_path / "fp_plugin_hello.py").write_text(COMMAND)
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint(name="hello", value="fp_plugin_hello", group=cli.PLUGINS)
    monkeypatch.setattr(cli, "entry_points", lambda group: [point] if group == cli.PLUGINS else [])
    assert cli.main(["hello", "noc"]) == 3
    assert capsys.readouterr().out == "hello noc\n"
    assert "`fourteenplus hello`: greets." in cli.build_parser(cli.plugins()).format_help()


def test_without_the_development_package_its_commands_are_unknown(monkeypatch, capsys):
    monkeypatch.setattr(cli, "entry_points", lambda group: [])
    with pytest.raises(SystemExit) as exited:
        cli.main(["hello"])
    assert exited.value.code == 2
    assert "invalid choice: 'hello'" in capsys.readouterr().err
