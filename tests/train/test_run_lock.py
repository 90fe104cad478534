"""The run-directory lock under contention: many writers released at once, exactly one holds the run."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import sys

import pytest

from zspace.errors import CheckpointError
from zspace.train import runs

WRITERS = 20
TRIALS = 3


def _writer(out: str, start, done, outcomes) -> None:
    """Wait for the others, try to open ``out``; a holder keeps it until every writer has tried."""
    start.wait()
    waited = False
    try:
        with runs.open_run_dir(out):
            outcomes.put("held")
            done.wait(timeout=20)  # holding: any other writer that gets in now is a second holder
            waited = True
    except CheckpointError:
        outcomes.put("refused")
    except Exception as err:  # noqa: BLE001 - counted: no writer may crash, holder or refused
        outcomes.put(f"crashed: {err!r}")
    finally:
        if not waited:
            done.wait(timeout=20)


def outcomes_per_trial(root: str, *, writers: int = WRITERS, trials: int = TRIALS) -> list[list[str]]:
    """For each trial, what each of ``writers`` processes, started in sync on a new directory, got: held, refused, crashed."""
    context = multiprocessing.get_context("fork")
    found = []
    for trial in range(trials):
        out = os.path.join(root, f"run-{trial}")
        start, done, outcomes = context.Barrier(writers), context.Barrier(writers), context.Queue()
        procs = [context.Process(target=_writer, args=(out, start, done, outcomes)) for _ in range(writers)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=30)
        got = []
        with contextlib.suppress(queue.Empty):
            while True:
                got.append(outcomes.get(timeout=0.2))
        found.append(sorted(got))
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="fork and flock semantics of Linux")
def test_writers_started_together_on_a_new_directory_leave_exactly_one_holder(tmp_path):
    found = outcomes_per_trial(str(tmp_path))
    assert found == [["held"] + ["refused"] * (WRITERS - 1)] * TRIALS
    # the holder wrote nothing: the directory it created is gone with its lock file, and no writer left a directory built aside
    assert list(tmp_path.iterdir()) == []


if __name__ == "__main__":  # measure: python tests/train/test_run_lock.py TRIALS
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        found = outcomes_per_trial(root, trials=int(sys.argv[1]) if len(sys.argv) > 1 else 100)
        left = sorted(os.listdir(root))
    holders = [trial.count("held") for trial in found]
    print({"trials": len(found), "writers": WRITERS, "trials_with_two_or_more_holders": sum(h > 1 for h in holders),
           "max_holders": max(holders), "trials_with_a_crashed_writer": sum(any(o.startswith("crashed") for o in t) for t in found), "left_behind": left})  # fmt: skip


@pytest.mark.parametrize("kernel_exchange", [True, False])
def test_exchange_swaps_two_directories(tmp_path, monkeypatch, kernel_exchange):
    from zspace.train import rundir

    if not kernel_exchange:  # a libc or file system without renameat2: three renames
        monkeypatch.setattr(rundir.ctypes, "CDLL", lambda *args, **kwargs: object())
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "old").write_text("old run")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "new").write_text("new run")
    rundir.exchange(tmp_path / "b", tmp_path / "a")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["new"] and [p.name for p in (tmp_path / "b").iterdir()] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
