"""bench/_results.py and docs/benchmarks/: one results file per family, one entry per experiment."""

from __future__ import annotations

import json

from ._load import BENCH_DIR, load_bench

load_bench("structured")  # puts bench/ on sys.path
results = load_bench("_results")
DOCS = BENCH_DIR.parent / "docs" / "benchmarks"


def test_a_keyed_write_replaces_its_entry_and_keeps_the_others(tmp_path):
    path = tmp_path / "vae.json"
    results.write_result(path, {"examples_per_s": 1.0}, "throughput")
    results.write_result(path, {"p95_ms": 2.0}, "serve")
    results.write_result(path, {"examples_per_s": 3.0}, "throughput")
    assert json.loads(path.read_text()) == {"serve": {"p95_ms": 2.0}, "throughput": {"examples_per_s": 3.0}}
    assert results.read_result(path, "serve") == {"p95_ms": 2.0}
    assert results.read_result(path, "demo") == {} and results.read_result(tmp_path / "none.json") == {}


def test_without_a_key_the_result_is_the_whole_file(tmp_path):
    path = tmp_path / "out.json"
    results.write_result(path, {"old": 1}, "entry")
    results.write_result(path, {"new": 2})
    assert json.loads(path.read_text()) == {"new": 2}
    results.write_result(None, {"x": 1})  # no --json-out: nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_the_committed_results_are_one_file_per_family_each_experiment_with_its_command():
    assert sorted(p.name for p in DOCS.glob("*.json")) == ["music.json", "sectar.json", "structured.json", "vae.json"]
    for family in ("music", "structured", "vae"):
        for key, entry in json.loads((DOCS / f"{family}.json").read_text()).items():
            assert entry["command"] and not any(word.startswith("/") for word in entry["command"].split()), (family, key)
    sectar = json.loads((DOCS / "sectar.json").read_text())
    assert {"authors", "mechanism", "tiebreak", "diagnosis"} <= set(sectar) and sectar["diagnosis"]["commands"]
    commands = [c["command"] for c in sectar["curves"]] + sectar["commands"] + sectar["diagnosis"]["commands"]
    assert all(c.split()[1].startswith("bench/") for c in commands)
    assert not any("/work/" in c or c.startswith("/") for c in commands)
