"""Render a :class:`~fnguard.metrics.Diagnosis` as one self-contained, offline HTML file.

The page is a Jinja2 template with autoescaping on; our CSS, our JavaScript and Plotly's
bundle are inlined, so the file opens without a network. Everything that the browser script
needs travels as one JSON document in ``<script type="application/json">``, escaped so that
no value can close the script element.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnguard._atomic import check_files, prepare_dir, write_text_atomic
from fnguard.data.names import format_names
from fnguard.errors import OutputError

if TYPE_CHECKING:
    from fnguard.metrics.diagnosis import Diagnosis

#: File names written by :func:`write_report`.
INDEX = "index.html"
MISSES_CSV = "misses.csv"

#: Most slices listed in the table (flagged ones come first).
MAX_SLICES = 40

#: Characters escaped inside the embedded JSON so that it can never leave its script element.
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}

#: The summary cards: (title, main metric, second metric or None).
_CARDS = (
    ("Misses (FN)", "fn", "fnr"),
    ("Recall", "recall", None),
    ("Precision", "precision", None),
    ("Specificity", "specificity", "fpr"),
    ("F1", "f1", "f2"),
    ("MCC", "mcc", None),
    ("ROC-AUC", "roc_auc", None),
    ("PR-AUC", "pr_auc", None),
    ("Brier score", "brier", "ece"),
)

_LABELS = {
    "fn": "FN",
    "fnr": "FNR",
    "recall": "Recall",
    "precision": "Precision",
    "specificity": "Specificity",
    "fpr": "FPR",
    "f1": "F1",
    "f2": "F2",
    "mcc": "MCC",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier",
    "ece": "ECE",
}


def script_json(value: Any) -> str:
    """JSON text safe to place inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&`` and the line separators U+2028 / U+2029 are written as ``\\uXXXX``
    escapes, which ``JSON.parse`` reads back unchanged; NaN and infinities become ``null``.

    Parameters
    ----------
    value : object
        Anything :func:`json.dumps` accepts.

    Returns
    -------
    str

    Examples
    --------
    >>> script_json({"name": "</script>"})
    '{"name": "\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _fmt(value: Any, digits: int = 4) -> str:
    """A metric value for display: counts as integers, rates with ``digits`` decimals."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _cell(value: Any) -> str:
    """A table cell of the misses table: floats with 6 significant digits, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _interval(m: dict[str, Any]) -> str:
    low, high = m.get("low"), m.get("high")
    if low is None or high is None:
        return ""
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _start_index(thresholds: list[float | None], threshold: float) -> int:
    """Row of the thinned curve that holds the counts at the operating threshold."""
    # thresholds decrease from +inf (None): the last row whose value is >= threshold.
    start = 0
    for i, t in enumerate(thresholds):
        if t is None or t >= threshold:
            start = i
        else:
            break
    return start


def _context(d: Diagnosis, title: str | None) -> dict[str, Any]:
    """Everything the template reads, values from the data left as plain Python."""
    from fnguard import __version__

    doc = d.to_dict(max_misses=100)
    inp = doc["input"]
    metrics = doc["metrics"]
    curve = d.curve_points()
    calib = doc["calibration"]
    sat = doc["saturation"]

    cards = []
    for name, key, extra in _CARDS:
        m = metrics[key]
        card = {
            "title": name,
            "key": key,
            "value": _fmt(m["value"]),
            "interval": _interval(m),
            "method": m["method"],
            "extra": None,
        }
        if extra is not None:
            e = metrics[extra]
            card["extra"] = {
                "label": _LABELS[extra],
                "value": _fmt(e["value"]),
                "interval": _interval(e),
            }
        cards.append(card)

    slices = [
        {
            "feature": s["feature"],
            "level": s["level"],
            "n_rows": _fmt(s["n_rows"]),
            "n_positive": _fmt(s["n_positive"]),
            "fn": _fmt(s["fn"]),
            "fnr": _fmt(s["fnr"], 3),
            "interval": (
                f"[{_fmt(s['low'], 3)}, {_fmt(s['high'], 3)}]" if s["low"] is not None else ""
            ),
            "p_value": "n/a" if s["p_value"] is None else f"{s['p_value']:.3g}",
            "flagged": bool(s["flagged"]),
        }
        for s in doc["slices"][:MAX_SLICES]
    ]

    misses = doc["misses"]
    miss_rows = [[_cell(v) for v in row] for row in misses["rows"]]

    saturation = {
        "saturated": bool(sat["saturated"]),
        "message": sat["message"],
        "share_extreme": ("n/a" if sat["share_extreme"] is None else f"{sat['share_extreme']:.1%}"),
        "flip_fraction": ("n/a" if sat["flip_fraction"] is None else f"{sat['flip_fraction']:.1%}"),
        "n_distinct": _fmt(sat["n_distinct"]),
        "misses_recoverable": (
            None if sat["misses_recoverable"] is None else f"{sat['misses_recoverable']:.0%}"
        ),
    }

    decisions = [_decision_row(dec, curve) for dec in d.decisions]
    data = {
        "decisions": [
            {
                "label": row["requirement"],
                "start": row["start"],
                "recall": row["recall_value"],
                "precision": row["precision_value"],
                "fpr": row["fpr_value"],
                "met": row["met"],
                "costs": row["costs"],
            }
            for row in decisions
        ],
        "threshold": d.threshold,
        "start": _start_index(curve["thresholds"], d.threshold),
        "n_positive": inp["n_positive"],
        "n_negative": inp["n_negative"],
        "positive": _cell(inp["positive"]),
        "negative": _cell(inp["negative"]),
        "score_name": inp["score"] or "score",
        "probability": bool(sat["probability"]),
        "curve": curve,
        "histogram": d.histogram(),
        "calibration": {
            "mean_score": calib["mean_score"],
            "fraction_positive": calib["fraction_positive"],
            "count": calib["count"],
            "low": calib["low"],
            "high": calib["high"],
            "ece": calib["ece"],
        },
    }

    header = [
        ("Source", inp["source"] or "(in memory)"),
        ("Label column", inp["label"] or "(not named)"),
        ("Score column", inp["score"] or "(not named)"),
        ("Positive label", _cell(inp["positive"])),
        ("Rows", _fmt(inp["n_rows"])),
        ("Positives", f"{inp['n_positive']:,} ({inp['n_positive'] / inp['n_rows']:.2%})"),
        ("Threshold", f"score ≥ {d.threshold:g}"),
        ("Confidence", f"{d.confidence:.0%} intervals"),
        ("fnguard", __version__),
    ]

    return {
        "title": title or f"fnguard report: {inp['source'] or 'scores'}",
        "header": header,
        "notes": doc["notes"],
        "cards": cards,
        "findings": doc["findings"],
        "decisions": decisions,
        "calibration_fix": _calibration_fix(d.calibration_fix),
        "known_severities": ("warning", "info", "error"),
        "saturation": saturation,
        "probability": bool(sat["probability"]),
        "ece": _fmt(calib["ece"]),
        "slices": slices,
        "n_slices": len(doc["slices"]),
        "has_features": bool(inp["features"]),
        "no_features_hint": (
            "No features were given, so the misses cannot be sliced. Pass the feature columns "
            "to see where they concentrate."
        ),
        "misses_count": _fmt(misses["count"]),
        "misses_shown": misses["shown"],
        "misses_columns": misses["columns"],
        "misses_rows": miss_rows,
        "misses_csv": MISSES_CSV,
        "n_curve_points": len(curve["thresholds"]),
        "threshold_raw": repr(d.threshold),
        "threshold_text": f"{d.threshold:g}",
        "version": __version__,
        "data_json": script_json(data),
    }


def _decision_row(dec: Any, curve: dict[str, list[Any]]) -> dict[str, Any]:
    """One requirement's operating point, for the template and the charts."""
    m = dec.metrics
    req = dec.requirement

    def est(key: str) -> str:
        e = m[key]
        if e.low != e.low:  # NaN: no interval
            return _fmt(e.value)
        return f"{_fmt(e.value)} [{_fmt(e.low)}, {_fmt(e.high)}]"

    finite = dec.threshold == dec.threshold and abs(dec.threshold) != float("inf")
    interval = ""
    if dec.threshold_low == dec.threshold_low:
        interval = f"[{dec.threshold_low:.4g}, {dec.threshold_high:.4g}]"
    return {
        "requirement": req.describe(),
        "threshold": f"{dec.threshold:.6g}" if finite else "above every score",
        "threshold_interval": interval,
        "met": bool(dec.met),
        "summary": dec.describe(),
        "recall": est("recall"),
        "precision": est("precision"),
        "fpr": est("fpr"),
        "fn": _fmt(m["fn"].value),
        "fp": _fmt(m["fp"].value),
        "groups": (
            [(str(k), f"{v:.6g}") for k, v in dec.group_thresholds.items()]
            if dec.group_thresholds
            else []
        ),
        "start": _start_index(curve["thresholds"], dec.threshold),
        "recall_value": m["recall"].value,
        "precision_value": m["precision"].value,
        "fpr_value": m["fpr"].value,
        "costs": dict(req.costs) if req.kind == "cost" else None,
    }


def _calibration_fix(fix: dict[str, Any] | None) -> dict[str, Any] | None:
    """Before/after rows of ``fnguard diagnose --calibrate``, formatted for the template."""
    if not fix:
        return None

    def num(v: Any) -> str:
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"

    rows = []
    for side in ("before", "after"):
        s = fix[side]
        rows.append(
            {
                "side": side,
                "ece": num(s["ece"]),
                "brier": num(s["brier"]),
                "log_loss": num(s["log_loss"]),
                "saturated": "yes" if s["saturated"] else "no",
                "flip": f"{s['flip_fraction']:.1%}",
            }
        )
    return {"method": str(fix["method"]), "rows": rows}


def _read_static(name: str) -> str:
    return resources.files("fnguard.report").joinpath("static", name).read_text("utf-8")


def render_report(
    diagnosis: Diagnosis,
    *,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """Render a diagnosis as one self-contained HTML page that works offline.

    The page holds the summary with intervals, the findings, an interactive threshold
    explorer (confusion matrix and metrics recomputed in the browser from the precomputed
    curve), PR / ROC / metrics-against-threshold / score histogram / reliability charts, the
    saturation check, the slices table and the first 100 misses. It links to ``misses.csv``
    beside it, which :func:`write_report` writes.

    Parameters
    ----------
    diagnosis : Diagnosis
        What :func:`fnguard.metrics.diagnose` returned.
    title : str, optional
        Page title; by default it names the input's source.
    extra : mapping, optional
        Template values that add to or replace the page's own (``no_features_hint``: what the
        slices section says when there are no features).

    Returns
    -------
    str
        The HTML document (several MB: Plotly's bundle is inlined).

    Examples
    --------
    >>> from fnguard.metrics import diagnose
    >>> d = diagnose([0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9], n_boot=50)
    >>> html = render_report(d, title="Toy")
    >>> html.startswith("<!DOCTYPE html>"), 'id="threshold-slider"' in html
    (True, True)
    """
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("fnguard.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    context = _context(diagnosis, title)
    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    return template.render(
        **{k: v for k, v in {**context, **dict(extra or {})}.items() if k != "data_json"},
        data_json=Markup(context["data_json"]),
        css=Markup(_read_static("report.css")),
        report_js=Markup(_read_static("report.js").replace("</script", "<\\/script")),
        plotly_js=Markup(plotly_js),
    )


#: The tag every page fnguard writes carries: an ``index.html`` without it is not ours.
GENERATOR = '<meta name="generator" content="fnguard">'


def check_report_files(
    out_dir: str | os.PathLike[str], names: Sequence[str], *, inputs: Sequence[Any] = ()
) -> None:
    """Refuse, before any work, a report folder whose files would replace an input table or a
    page fnguard did not write (a report goes into a folder of its own; fnguard replaces its
    own earlier reports there).

    Parameters
    ----------
    out_dir : str or PathLike
        The report folder.
    names : sequence of str
        The files the report writes there.
    inputs : sequence of path-like, default=()
        The tables the command reads.

    Raises
    ------
    fnguard.errors.OutputError
        Naming the file and what to do instead.
    """
    folder = Path(out_dir)
    sources = {Path(p).resolve() for p in inputs if Path(p).is_file()}
    for name in names:
        file = folder / name
        if file.is_file() and file.resolve() in sources:
            raise OutputError(
                f"The report's {name} would replace the input table '{file}': choose another "
                "folder for the report (--out)."
            )
    index = folder / INDEX
    if index.is_file():
        with index.open("rb") as handle:
            head = handle.read(4096)
        if GENERATOR.encode() not in head:
            raise OutputError(
                f"The report folder '{folder}' holds an {INDEX} that fnguard did not write: "
                "choose another folder for the report (--out), or remove that file."
            )
    else:  # no report of fnguard's there: its other files are the user's
        taken = [name for name in names if name != INDEX and (folder / name).exists()]
        if taken:
            raise OutputError(
                f"The report folder '{folder}' holds {format_names(repr(n) for n in taken)} "
                f"but no report of fnguard's ({INDEX}): the report would replace "
                f"{'it' if len(taken) == 1 else 'them'}. Choose another folder for the report "
                "(--out), or move those files."
            )


def write_report(
    diagnosis: Diagnosis,
    out_dir: str | os.PathLike[str],
    *,
    title: str | None = None,
    html: str | None = None,
    files: Mapping[str, tuple[str, str]] | None = None,
) -> Path:
    """Write the HTML report and the CSV of every miss into a folder.

    Writes ``index.html`` (see :func:`render_report`) and ``misses.csv`` (every false
    negative, lowest score first, with the feature columns). Each file is written to a
    temporary name and renamed, so no half-written file is left; when this call created the
    folder and a write fails, the folder is removed again.

    Parameters
    ----------
    diagnosis : Diagnosis
        What :func:`fnguard.metrics.diagnose` returned.
    out_dir : str or PathLike
        The folder to write into; created if missing.
    title : str, optional
        Page title.
    html : str, optional
        The page, when the caller rendered it (e.g. with ``extra`` sections); by default
        :func:`render_report`.
    files : mapping, optional
        More files to write beside ``misses.csv``: file name to ``(text, what)``, ``what``
        naming the file in error messages.
    extra : mapping, optional
        More template variables, for the template's optional sections (``explain``: the
        "Why are positives missed?" section of :mod:`fnguard.explain.report`).

    Returns
    -------
    Path
        The path of ``out_dir/index.html``.

    Raises
    ------
    fnguard.errors.OutputError
        When ``out_dir`` is a file, cannot be created, or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from fnguard.metrics import diagnose
    >>> d = diagnose([0, 0, 1, 1, 0, 1], [0.1, 0.6, 0.7, 0.4, 0.2, 0.9], n_boot=50)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_report(d, pathlib.Path(tmp) / "report")
    ...     sorted(p.name for p in path.parent.iterdir())
    ['index.html', 'misses.csv']
    """
    if html is None:
        html = render_report(diagnosis, title=title)
    csv = diagnosis.misses.to_csv(index=False, lineterminator="\n")
    check_files(
        [Path(out_dir) / name for name in (MISSES_CSV, *(files or {}), INDEX)],
        what="report file",
    )  # before the first file is written
    check_report_files(out_dir, [MISSES_CSV, *(files or {}), INDEX])
    folder, created = prepare_dir(out_dir, what="report folder")
    try:
        write_text_atomic(folder / MISSES_CSV, csv, what="misses file")
        for name, (text, what) in (files or {}).items():
            write_text_atomic(folder / name, text, what=what)
        index = write_text_atomic(folder / INDEX, html, what="report file")
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return index
