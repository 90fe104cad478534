"""One self-contained HTML report: figures embedded as base64 PNG data URIs, inline CSS, no links out.

A report is a title and a list of :class:`Section` s; each has explanatory text, figures with
captions, and an optional table of key numbers. The file can be mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPORT_FILE = "report.html"

_CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 2em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
nav ol { columns: 2; margin: 0.5em 0; } p { margin: 0.5em 0; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.92em; margin-top: 0.3em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; } thead th { background: #f4f4f4; }
"""


@dataclass
class Section:
    """One part of a report.

    ``text``: plain text, paragraphs separated by blank lines (escaped, not HTML).
    ``figures``: PNG paths; ``captions[i]`` (if present and non-empty) explains ``figures[i]``.
    ``table``: ``{name: value}`` (two columns) or ``{row: {column: value}}`` (a grid).
    """

    title: str
    text: str = ""
    figures: list[Path] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    table: Mapping[str, Any] | None = None


def format_value(value: Any) -> str:
    """Numbers to 4 significant digits; everything else via str()."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _table(table: Mapping[str, Any]) -> str:
    e = html.escape
    if table and all(isinstance(v, Mapping) for v in table.values()):
        columns: list[str] = []
        for row in table.values():
            columns += [c for c in row if c not in columns]
        head = "".join(f"<th>{e(str(c))}</th>" for c in ["", *columns])
        body = "".join(
            f"<tr><th>{e(str(name))}</th>" + "".join(f"<td>{e(format_value(row.get(c)))}</td>" for c in columns) + "</tr>"
            for name, row in table.items()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    body = "".join(f"<tr><th>{e(str(k))}</th><td>{e(format_value(v))}</td></tr>" for k, v in table.items())
    return f"<table><tbody>{body}</tbody></table>"


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    alt = html.escape(caption or Path(path).stem, quote=True)
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{cap}</figure>'


def _section(index: int, section: Section) -> str:
    parts = [f'<section id="s{index}"><h2>{html.escape(section.title)}</h2>']
    parts += [f"<p>{html.escape(p.strip())}</p>" for p in section.text.split("\n\n") if p.strip()]
    if section.table:
        parts.append(_table(section.table))
    for i, fig in enumerate(section.figures):
        parts.append(_figure(Path(fig), section.captions[i] if i < len(section.captions) else ""))
    parts.append("</section>")
    return "\n".join(parts)


def write_html_report(out_dir: str | Path, title: str, sections: Sequence[Section], *, intro: str = "") -> Path:
    """Write ``out_dir/report.html`` from ``sections`` and return its path.

    Every figure is read and embedded, so the report stays valid after the PNGs are deleted.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    toc = "".join(f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>' for i, s in enumerate(sections))
    intro_html = "".join(f"<p>{html.escape(p.strip())}</p>" for p in intro.split("\n\n") if p.strip())
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>{intro_html}<nav><ol>{toc}</ol></nav>\n"
        + "\n".join(_section(i, s) for i, s in enumerate(sections))
        + "\n</body></html>\n"
    )
    path = out / REPORT_FILE
    path.write_text(doc, encoding="utf-8")
    return path


__all__ = ["REPORT_FILE", "Section", "format_value", "write_html_report"]
