"""`zspace serve` on the command line: registered, and its user errors are one line with exit code 2."""

from __future__ import annotations

from typer.testing import CliRunner

from zspace.cli.main import app

runner = CliRunner()


def test_serve_is_a_command_with_help():
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "127.0.0.1" in result.output


def test_serve_refuses_what_is_not_a_run(tmp_path):
    result = runner.invoke(app, ["serve", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in result.output and "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["serve", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "not a zspace run" in result.output


def test_serve_refuses_the_same_run_twice_and_a_bad_port(vae_run):
    result = runner.invoke(app, ["serve", str(vae_run), str(vae_run)])
    assert result.exit_code == 2 and "given twice" in result.output
    result = runner.invoke(app, ["serve", str(vae_run), "--port", "70000"])
    assert result.exit_code == 2 and "--port" in result.output


def test_unknown_family_is_named(tmp_path):
    (tmp_path / "config.json").write_text('{"family": "gan"}')
    result = runner.invoke(app, ["serve", str(tmp_path)])
    assert result.exit_code == 2 and "unknown family 'gan'" in result.output
