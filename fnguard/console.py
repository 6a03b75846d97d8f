"""Terminal rendering of a diagnosis with Rich: what the CLI prints."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fnguard.metrics.diagnosis import Diagnosis
from fnguard.metrics.summary import Estimate

if TYPE_CHECKING:
    from fnguard.explain import Explanation

_SHOWN = (
    ("recall", "Recall (positives caught)"),
    ("fnr", "FNR (positives missed)"),
    ("precision", "Precision"),
    ("specificity", "Specificity"),
    ("fpr", "FPR (false alarms)"),
    ("f1", "F1"),
    ("f2", "F2"),
    ("mcc", "MCC"),
    ("balanced_accuracy", "Balanced accuracy"),
    ("g_mean", "G-mean"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC (average precision)"),
    ("brier", "Brier score"),
    ("log_loss", "Log-loss"),
    ("ece", "ECE"),
    ("prevalence", "Prevalence"),
    ("imbalance_ratio", "Imbalance ratio"),
)


def _fmt(e: Estimate) -> tuple[str, str]:
    if math.isnan(e.value):
        return "n/a", ""
    if math.isnan(e.low):
        return f"{e.value:.4f}", ""
    return f"{e.value:.4f}", f"[{e.low:.4f}, {e.high:.4f}]"


def diagnosis_renderables(d: Diagnosis, report: Path | None = None) -> list[object]:
    """Rich renderables summarising a diagnosis, in print order."""
    m = d.metrics
    head = Text()
    head.append(f"{d.source or 'scores'}", style="bold")
    head.append(
        f"  {d.curve.n:,} rows, {d.curve.n_positive:,} positive ({escape(str(d.positive))}), "
        f"threshold {d.threshold:g} (score >= threshold is positive)"
    )
    out: list[object] = [head]

    cm = Table(title="Confusion matrix", show_header=True, header_style="bold")
    cm.add_column("")
    cm.add_column("predicted positive", justify="right")
    cm.add_column("predicted negative", justify="right")
    tp, fp, tn, fn = (int(m[k].value) for k in ("tp", "fp", "tn", "fn"))
    cm.add_row("actual positive", f"{tp:,} TP", Text(f"{fn:,} FN (missed)", style="bold red"))
    cm.add_row("actual negative", f"{fp:,} FP", f"{tn:,} TN")
    out.append(cm)

    level = f"{d.confidence:.0%}"
    table = Table(title="Metrics", header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column(f"{level} interval", justify="right")
    for key, name in _SHOWN:
        value, interval = _fmt(m[key])
        style = "bold red" if key == "fnr" else None
        table.add_row(name, Text(value, style=style or ""), interval)
    out.append(table)

    sat = d.saturation
    out.append(
        Panel(
            Text(sat.message),
            title="Saturated scores" if sat.saturated else "Threshold room",
            border_style="red" if sat.saturated else "green",
        )
    )
    flagged = [s for s in d.slices if s.flagged]
    if d.slices and not flagged:
        out.append(
            Text(
                f"Slices: none of {len(d.slices)} slices misses significantly more than the "
                f"overall FNR of {m['fnr'].value:.1%}."
            )
        )
    elif flagged:
        st = Table(title="Slices that miss significantly more", header_style="bold")
        for col in ("feature", "level", "positives", "missed", "FNR", "interval", "flag"):
            st.add_column(col, justify="right" if col in ("positives", "missed") else "left")
        for s in flagged[:8]:
            st.add_row(
                escape(s.feature),
                escape(s.level),
                f"{s.n_positive:,}",
                f"{s.fn:,}",
                f"{s.fnr:.1%}",
                f"[{s.low:.1%}, {s.high:.1%}]",
                Text("above overall", style="bold red"),
            )
        out.append(st)
    if len(d.misses):
        mt = Table(title=f"Lowest-scored misses (of {len(d.misses):,})", header_style="bold")
        cols = list(d.misses.columns)[:8]
        for c in cols:
            mt.add_column(escape(str(c)))
        for row in d.misses[cols].head(5).itertuples(index=False):
            mt.add_row(*(escape(f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row))
        out.append(mt)
    fix = d.calibration_fix
    if fix:
        ct = Table(
            title=f"Calibration ({escape(fix['method'])}, cross-fitted): before and after",
            header_style="bold",
        )
        for col in ("", "ECE", "Brier", "log-loss", "saturated", "flip 0.05-0.95"):
            ct.add_column(col, justify="right")
        for side in ("before", "after"):
            s = fix[side]

            def num(v: object) -> str:
                return "n/a" if v is None or v != v else f"{v:.4f}"

            ct.add_row(
                side, num(s["ece"]), num(s["brier"]), num(s["log_loss"]),
                "yes" if s["saturated"] else "no", f"{s['flip_fraction']:.1%}",
            )
        out.append(ct)
    for dec in d.decisions:
        tp_t, fp_t, tn_t, fn_t = d.curve.counts_at(d.threshold)
        body = Text(dec.describe())
        req = dec.requirement
        if req.kind == "constraint":
            from fnguard.metrics.point import threshold_metric

            value_t = float(threshold_metric(req.metric, tp_t, fp_t, tn_t, fn_t))
            ok = req.is_met(value_t)
            verdict = "meets it." if ok else "does NOT meet it."
            on_positives = req.metric in ("recall", "fnr")
            if ok and req.guaranteed and dec.allowed is not None:
                count, what = (fn_t, "misses") if on_positives else (fp_t, "false alarms")
                if count > dec.allowed:  # the point value is met, the guarantee is not
                    ok = False
                    verdict = (
                        f"meets the target, but with {count:,} {what} where the guarantee "
                        f"allows {dec.allowed:,}: NOT guaranteed at {req.confidence:.0%}."
                    )
            elif ok and req.guaranteed and dec.group_thresholds:
                safe = d.threshold <= dec.threshold if on_positives else (
                    d.threshold >= dec.threshold)
                if not safe:
                    ok = False
                    side = "above" if on_positives else "below"
                    verdict = (
                        f"meets the target on all rows, but it is {side} the threshold "
                        f"{dec.threshold:g} that keeps every group's guarantee: not shown to "
                        "keep it in every group."
                    )
            body.append(
                f"\nAt your threshold {d.threshold:g}: {req.metric} {value_t:.4f}, " + verdict,
                style="green" if ok else "bold red",
            )
        for note in dec.notes:
            body.append(f"\n{note}", style="dim")
        if dec.threshold_low == dec.threshold_low:
            body.append(
                f"\nThreshold interval ({d.confidence:.0%} bootstrap): "
                f"[{dec.threshold_low:.4g}, {dec.threshold_high:.4g}]"
            )
        out.append(
            Panel(
                body,
                title=f"Requirement {escape(req.describe())}",
                border_style="green" if dec.met else "red",
            )
        )
    for f in d.findings:
        color = "red" if f.severity == "warning" else "cyan"
        out.append(
            Panel(Text(f.message), title=f"{f.code} {escape(f.title)}", border_style=color)
        )
    if report is not None:
        out.append(Text(f"Report: {report}", style="bold green"))
    return out


def print_diagnosis(
    d: Diagnosis, report: Path | None = None, console: Console | None = None
) -> None:
    """Print a diagnosis to the terminal."""
    (console or Console()).print(Group(*diagnosis_renderables(d, report)))


def print_classes(
    diagnoses: dict[object, Diagnosis], report: Path | None = None, console: Console | None = None
) -> None:
    """Print the per-class table of misses of a one-vs-rest diagnosis, then its requirements."""
    from fnguard.metrics.multiclass import class_rows

    console = console or Console()
    table = Table(title="Misses per class (one-vs-rest)", header_style="bold")
    for col in ("class", "rows", "missed", "FNR", "interval", "recall", "precision", "ROC-AUC"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for row in class_rows(diagnoses):
        table.add_row(
            escape(str(row["class"])),
            f"{row['rows']:,}",
            Text(f"{row['misses']:,}", style="bold red" if row["misses"] else ""),
            f"{row['fnr']:.4f}",
            f"[{row['fnr_low']:.4f}, {row['fnr_high']:.4f}]",
            f"{row['recall']:.4f}",
            f"{row['precision']:.4f}",
            f"{row['roc_auc']:.4f}",
        )
    parts: list[object] = [table]
    for cls, d in diagnoses.items():
        for dec in d.decisions:
            parts.append(
                Panel(
                    Text(dec.describe()),
                    title=f"class {escape(str(cls))}",
                    border_style="green" if dec.met else "red",
                )
            )
    if report is not None:
        parts.append(Text(f"Report: {report} (one report per class inside)", style="bold green"))
    console.print(Group(*parts))


def explanation_renderables(exp: Explanation, report: Path | None = None) -> list[object]:
    """Rich renderables of an explanation: findings, what the misses share, the levers."""
    head = Text()
    head.append("Why are positives missed?", style="bold")
    head.append(
        f"  {escape(exp.model)}; {exp.scores} scores, threshold {exp.threshold:g}"
        + (f", {exp.cv}-fold cross-validation" if exp.cv else "")
        + f" ({exp.seconds:.0f} s)"
    )
    out: list[object] = [head]
    if exp.findings:
        ft = Table(title="Findings, most misses at stake first", header_style="bold")
        for col in ("code", "kind", "at stake", "what it means"):
            ft.add_column(col, justify="right" if col == "at stake" else "left")
        for f in exp.findings:
            ft.add_row(
                Text(f.code, style="red" if f.severity == "warning" else "cyan"),
                escape(f.kind),
                f"{f.misses_at_stake:,.0f}",
                Text(f"{f.title}. {f.message}"),
            )
        out.append(ft)
    else:
        out.append(Text("No finding: nothing explains the misses beyond the model's ranking."))
    shown = [e for e in exp.effects if e.flagged][:5]
    if shown:
        et = Table(title="What the misses share (against the caught positives)",
                   header_style="bold")
        for col in ("feature", "effect", "interval", "misses", "caught"):
            et.add_column(col, justify="left" if col == "feature" else "right")
        for e in shown:
            name = e.feature if e.level is None else f"{e.feature} = {e.level}"
            fmt = "{:.4g}" if e.kind == "numeric" else "{:.0%}"
            et.add_row(
                escape(name),
                f"{e.effect:+.2f} ({'Cliff' if e.kind == 'numeric' else 'share diff.'})",
                "" if e.low != e.low else f"[{e.low:+.2f}, {e.high:+.2f}]",
                fmt.format(e.miss_value),
                fmt.format(e.caught_value),
            )
        out.append(et)
    issues = exp.label_issues
    if issues is not None:
        out.append(
            Text(
                f"Suspected label errors (cleanlab): {len(issues):,} rows; "
                f"{issues.hidden_positives.size:,} labelled negative look positive, "
                f"{issues.not_positives.size:,} labelled positive look negative."
            )
        )
    if exp.overfitting is not None:
        style = "bold red" if exp.overfitting.flagged else ""
        out.append(Text(f"Over-fitting: {exp.overfitting.describe()}", style=style))
    if exp.duplicates.n_groups:
        dup = exp.duplicates
        out.append(
            Text(
                f"Conflicting duplicates: {dup.n_groups:,} groups, {dup.n_positive:,} positive "
                f"and {dup.n_negative:,} negative rows."
            )
        )
    if exp.recommendations:
        body = Text()
        for r in exp.recommendations:
            if r.rank > 1:
                body.append("\n")
            body.append(f"#{r.rank} {r.lever}", style="bold")
            body.append(f"  for {r.finding} {r.kind}: {r.reason}")
            if r.check is not None:
                gain = r.check.misses_removed or 0
                body.append(f"\n   measured: {r.check.message}",
                            style="green" if gain > 0 else "yellow")
            if r.command:
                body.append(f"\n   $ {r.command}", style="cyan")
        out.append(Panel(body, title="What to try, in order", border_style="blue"))
    for note in exp.notes:
        out.append(Text(f"note: {note}", style="dim"))
    if report is not None:
        out.append(Text(f"Report: {report}", style="bold green"))
        if issues is not None:
            out.append(Text(f"Label issues: {report.parent / 'label_issues.csv'}"))
    return out


def print_explanation(
    exp: Explanation, report: Path | None = None, console: Console | None = None
) -> None:
    """Print an explanation to the terminal."""
    (console or Console()).print(Group(*explanation_renderables(exp, report)))
