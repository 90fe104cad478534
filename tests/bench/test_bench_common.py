"""bench/_common.py: what every benchmark records beside its results."""

from __future__ import annotations

import sys

from ._load import BENCH_DIR, load_bench

load_bench("structured")  # puts bench/ on sys.path and imports _common
common = sys.modules["_common"]


def test_command_line_is_recorded_relative_to_the_repository(monkeypatch, tmp_path):
    """A results file must not carry the absolute paths of the machine (or worktree) that ran it."""
    monkeypatch.chdir(tmp_path)  # wherever the script was started from
    monkeypatch.setattr(sys, "executable", "/opt/elsewhere/.venv/bin/python3")
    recorded = common.command_line(str(BENCH_DIR / "vae.py"), ["--json-out", "docs/benchmarks/vae.json"])
    assert recorded == "python bench/vae.py --json-out docs/benchmarks/vae.json"
    monkeypatch.setattr(sys, "executable", str(common.REPOSITORY / ".venv" / "bin" / "python3.11"))
    assert common.command_line(str(BENCH_DIR / "vae.py"), ["--quick"]) == ".venv/bin/python bench/vae.py --quick"
