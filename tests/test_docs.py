"""The docs as a reference: links resolve, results are cited from the committed files, the README stays short."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BENCHMARKS = (ROOT / "docs" / "BENCHMARKS.md").read_text()
GUIDE = (ROOT / "docs" / "GUIDE.md").read_text()
RESULTS = ROOT / "docs" / "benchmarks"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)}


def test_every_link_into_the_benchmarks_lands_on_a_heading():
    targets = anchors(BENCHMARKS)
    links = re.findall(r"BENCHMARKS\.md#([\w\-]+)", README) + re.findall(r"\]\(#([\w\-]+)\)", BENCHMARKS)
    assert links, "no section links found"
    assert sorted(set(links) - targets) == []


def test_the_contents_list_every_section_and_the_readme_table_links_every_claim():
    sections = re.findall(r"^## (.+)$", BENCHMARKS, flags=re.MULTILINE)
    contents = set(re.findall(r"\]\(#([\w\-]+)\)", BENCHMARKS))
    assert {slug(s) for s in sections if s != "Contents"} == contents
    rows = [line for line in README.split("## Results", 1)[1].splitlines() if line.startswith("| [")]
    assert rows and all("BENCHMARKS.md#" in row for row in rows)


def test_every_results_entry_the_docs_cite_is_in_its_family_file():
    families = {p.stem: json.loads(p.read_text()) for p in RESULTS.glob("*.json")}
    assert sorted(families) == ["music", "sectar", "structured", "vae"]
    cited = re.findall(r"`(\w+)\.json` `(\w+)`", BENCHMARKS + GUIDE)
    cited += re.findall(r"--json-out docs/benchmarks/(\w+)\.json --json-key (\w+)", BENCHMARKS + GUIDE)
    cited = [(f, k) for f, k in cited if f != "FAMILY"]  # the placeholder of the how-to line
    assert len(cited) > 10
    pending = {("music", "16bar_magenta_init")}  # a run in progress: its command is documented before its result
    assert sorted({(f, k) for f, k in cited if k not in families.get(f, {})} - pending) == []


def test_no_local_run_paths_and_a_short_readme():
    for name, text in [("README.md", README), ("BENCHMARKS.md", BENCHMARKS), ("GUIDE.md", GUIDE)]:
        assert not re.search(r"runs/i\d", text), name
        assert "/work/" not in text and "/home/" not in text, name
    assert len(README.splitlines()) <= 150
