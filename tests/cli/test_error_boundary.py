"""The CLI's one error boundary: user errors exit 2, bugs exit 70, one line each, a traceback only with --debug."""

from __future__ import annotations

from typer.testing import CliRunner

from zspace.cli import main
from zspace.cli.common import INTERNAL_ERROR_EXIT
from zspace.errors import DataError

runner = CliRunner()


def _raising(error: BaseException):
    def verb(run, verb, function):  # zspace.cli.main._verb: the run's family's function for the verb
        raise error

    return verb


def test_a_bug_is_one_line_and_its_own_exit_code(monkeypatch):
    monkeypatch.setattr(main, "_verb", _raising(RuntimeError("boom\nsecond line")))
    result = runner.invoke(main.app, ["eval", "somewhere"])
    assert result.exit_code == INTERNAL_ERROR_EXIT == 70
    assert result.stderr.strip() == "zspace: internal error: RuntimeError: boom second line; rerun with --debug"
    assert "Traceback" not in result.output


def test_an_eof_error_is_no_longer_aborted(monkeypatch):
    monkeypatch.setattr(main, "_verb", _raising(EOFError("No data left in file")))
    result = runner.invoke(main.app, ["eval", "somewhere"])
    assert result.exit_code == 70 and "Aborted" not in result.output
    assert "internal error: EOFError: No data left in file" in result.stderr


def test_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(main, "_verb", _raising(EOFError("No data left in file")))
    result = runner.invoke(main.app, ["--debug", "eval", "somewhere"])
    assert result.exit_code == 70 and "Traceback" in result.stderr and "EOFError" in result.stderr


def test_user_errors_and_parse_errors_exit_2_in_one_line(monkeypatch):
    monkeypatch.setattr(main, "_verb", _raising(DataError("data.npz is truncated")))
    result = runner.invoke(main.app, ["eval", "somewhere"])
    assert (result.exit_code, result.stderr) == (2, "error: data.npz is truncated\n")
    result = runner.invoke(main.app, ["sample", "somewhere", "--seed", "abc"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "'--seed'" in result.stderr and "zspace sample --help" in result.stderr
