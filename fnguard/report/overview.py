"""Reports for multiclass scores: one full report per class and an overview page."""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnguard._atomic import prepare_dir, write_text_atomic

if TYPE_CHECKING:
    from fnguard.metrics.diagnosis import Diagnosis

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="fnguard">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 32px; color: #1f2328; background: #f6f7f9; }
table { border-collapse: collapse; background: #fff; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 6px 12px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.bad td { background: #fdecea; }
.muted { color: #656d76; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="muted">{{ source }}: one-vs-rest, each class's own score column, threshold as given
(score &ge; threshold is flagged). The class with the highest FNR is highlighted.</p>
<table>
<thead><tr><th>class</th><th>rows of the class</th><th>misses (FN)</th><th>FNR</th>
<th>95% interval</th><th>recall</th><th>precision</th><th>ROC-AUC</th><th>PR-AUC</th>
<th>report</th></tr></thead>
<tbody>
{% for r in rows %}
<tr class="{{ 'bad' if r.worst else '' }}"><td>{{ r.cls }}</td><td>{{ r.rows }}</td>
<td>{{ r.misses }}</td><td>{{ r.fnr }}</td><td>{{ r.interval }}</td><td>{{ r.recall }}</td>
<td>{{ r.precision }}</td><td>{{ r.roc_auc }}</td><td>{{ r.pr_auc }}</td>
<td><a href="{{ r.href }}">open</a></td></tr>
{% endfor %}
</tbody></table>
{% if decisions %}
<h2>Requirements</h2>
<ul>{% for text in decisions %}<li>{{ text }}</li>{% endfor %}</ul>
{% endif %}
</body></html>
"""


def class_folder(cls: Any, taken: set[str]) -> str:
    """A safe, unique folder name for a class label."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", str(cls)).strip("._") or "class"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}-{i}", i + 1
    taken.add(name)
    return name


def write_class_reports(
    diagnoses: dict[Any, Diagnosis], out_dir: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write one report per class into subfolders and an overview ``index.html``.

    Parameters
    ----------
    diagnoses : dict
        Class label to its one-vs-rest diagnosis.
    out_dir : str or PathLike
        The folder to write into; created if missing (and removed again if this call
        created it and a write fails).
    title : str, optional
        Title of the overview page.

    Returns
    -------
    Path
        The overview page, ``out_dir/index.html``.
    """
    import jinja2

    from fnguard.metrics.multiclass import class_rows
    from fnguard.report.html import write_report

    folder, created = prepare_dir(out_dir, what="report folder")
    try:
        taken: set[str] = set()
        rows = class_rows(diagnoses)
        worst = max(range(len(rows)), key=lambda i: rows[i]["fnr"]) if rows else -1
        shown = []
        decisions = []
        for i, ((cls, d), row) in enumerate(zip(diagnoses.items(), rows, strict=True)):
            sub = class_folder(cls, taken)
            write_report(d, folder / sub, title=f"{title or 'fnguard report'}: class {cls}")
            decisions += [f"{cls}: {dec.describe()}" for dec in d.decisions]

            def f(x: float) -> str:
                return "n/a" if x is None or math.isnan(x) else f"{x:.4f}"

            shown.append(
                {
                    "cls": str(cls),
                    "rows": f"{row['rows']:,}",
                    "misses": f"{row['misses']:,}",
                    "fnr": f(row["fnr"]),
                    "interval": f"[{f(row['fnr_low'])}, {f(row['fnr_high'])}]",
                    "recall": f(row["recall"]),
                    "precision": f(row["precision"]),
                    "roc_auc": f(row["roc_auc"]),
                    "pr_auc": f(row["pr_auc"]),
                    "href": f"{sub}/index.html",
                    "worst": i == worst,
                }
            )
        source = next(iter(diagnoses.values())).source if diagnoses else ""
        html = jinja2.Environment(autoescape=True).from_string(_PAGE).render(
            title=title or "fnguard report: classes", rows=shown, decisions=decisions,
            source=source or "scores",
        )
        return write_text_atomic(folder / "index.html", html, what="report")
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
