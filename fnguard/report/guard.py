"""Render a :class:`~fnguard.guard.Guard` as one self-contained, offline HTML page.

The Guard report says whether the requirement holds on the final test set, at which threshold
and review band, with the test-set metrics and their intervals; what the Guard changes against
a plain logistic regression (misses removed, false alarms added); every trial of the search;
what each lever contributed beyond the plain model with only its threshold tuned; the facts of
the search; and the threshold explorer, curves and calibration of the test-set scores.

The explorer and the charts are the diagnosis report's: a :class:`~fnguard.metrics.Diagnosis`
of ``guard.holdout`` feeds the same browser script (``static/report.js``), the same styles and
the same escaping helpers as :mod:`fnguard.report.html`. :func:`write_guard_report` also writes
that diagnosis's full report into ``holdout/`` beside ``index.html``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from fnguard._atomic import check_files, prepare_dir, write_text_atomic
from fnguard.report.guard_context import HOLDOUT_DIR, INDEX, guard_context, holdout_diagnosis
from fnguard.report.html import _read_static, check_report_files, render_report

if TYPE_CHECKING:
    from fnguard.guard import Guard
    from fnguard.metrics.diagnosis import Diagnosis

__all__ = ["HOLDOUT_DIR", "INDEX", "render_guard_report", "write_guard_report"]


def _render(guard: Guard, d: Diagnosis | None, title: str | None, holdout_link: bool) -> str:
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
    context = guard_context(guard, d, title, holdout_link)
    explorer = context["explorer"]
    if explorer is not None:
        explorer["data_json"] = Markup(explorer["data_json"])
    scripts = {}
    if explorer is not None:
        scripts = {
            "plotly_js": Markup(get_plotlyjs().replace("</script", "<\\/script")),
            "report_js": Markup(_read_static("report.js").replace("</script", "<\\/script")),
        }
    return env.get_template("guard.html.j2").render(
        **context,
        **scripts,
        css=Markup(_read_static("report.css") + "\n" + _read_static("guard.css")),
        guard_js=Markup(_read_static("guard.js").replace("</script", "<\\/script")),
    )


def render_guard_report(
    guard: Guard, *, title: str | None = None, n_boot: int = 1000
) -> str:
    """Render a Guard as one self-contained HTML page that works offline.

    The page shows the requirement and whether it is met on the final test set, the
    operating threshold and review band, the test-set metrics with intervals, the
    before/after against a plain logistic regression (``guard.info["reference"]``), every
    trial of the leaderboard (sortable; pruned and failed trials marked), each lever's
    contribution beyond the plain model with only its threshold tuned, the facts of the
    search, and the threshold explorer, curves and reliability diagram of ``guard.holdout``.
    Missing parts of ``guard.info`` are left out.

    Parameters
    ----------
    guard : Guard
        A Guard from :func:`fnguard.fit` or :func:`fnguard.load`.
    title : str, optional
        Page title; by default it names the target and the requirement.
    n_boot : int, default=1000
        Bootstrap replicates of the test-set diagnosis behind the charts.

    Returns
    -------
    str
        The HTML document (several MB: Plotly's bundle is inlined when there are test-set
        scores to chart).

    Examples
    --------
    >>> import pandas as pd
    >>> from fnguard.data.schema import infer_schema
    >>> from fnguard.guard import Guard
    >>> holdout = pd.DataFrame({"y": [False, False, True, True, False, True],
    ...                         "score": [0.1, 0.6, 0.7, 0.4, 0.2, 0.9]})
    >>> g = Guard(pipeline=None, schema=infer_schema(pd.DataFrame({"x": [1.0, 2.0]})),
    ...           target="y", positive=1, negative=0, requirement="recall>=0.6",
    ...           threshold=0.5, met=True, holdout=holdout)
    >>> html = render_guard_report(g, n_boot=50)
    >>> html.startswith("<!DOCTYPE html>"), 'id="threshold-slider"' in html
    (True, True)
    """
    d = holdout_diagnosis(guard, n_boot, _seed(guard))
    return _render(guard, d, title, holdout_link=False)


def _seed(guard: Guard) -> int:
    seed = guard.info.get("seed", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def write_guard_report(
    guard: Guard,
    folder: str | os.PathLike[str],
    *,
    title: str | None = None,
    n_boot: int = 1000,
) -> Path:
    """Write the Guard's HTML report into a folder; return the path of its ``index.html``.

    Writes ``index.html`` (see :func:`render_guard_report`, with a link to the full
    diagnosis) and, when the Guard holds its test-set scores, the full diagnosis report of
    those scores (findings, saturation, every miss) into ``holdout/`` (``index.html`` and
    ``misses.csv``). Each file is written to a temporary name and renamed, so no half-written
    file is left; when this call created the folder and a write fails, it is removed again.

    Parameters
    ----------
    guard : Guard
        A Guard from :func:`fnguard.fit` or :func:`fnguard.load`.
    folder : str or PathLike
        The folder to write into; created if missing. Other files in it are left alone.
    title : str, optional
        Page title.
    n_boot : int, default=1000
        Bootstrap replicates of the test-set diagnosis.

    Returns
    -------
    Path
        The path of ``folder/index.html``.

    Raises
    ------
    fnguard.errors.OutputError
        When ``folder`` is a file, cannot be created, or cannot be written.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from fnguard.data.schema import infer_schema
    >>> from fnguard.guard import Guard
    >>> holdout = pd.DataFrame({"y": [False, False, True, True, False, True],
    ...                         "score": [0.1, 0.6, 0.7, 0.4, 0.2, 0.9]})
    >>> g = Guard(pipeline=None, schema=infer_schema(pd.DataFrame({"x": [1.0, 2.0]})),
    ...           target="y", positive=1, negative=0, requirement="recall>=0.6",
    ...           threshold=0.5, holdout=holdout)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_guard_report(g, pathlib.Path(tmp) / "report", n_boot=50)
    ...     sorted(str(p.relative_to(path.parent)) for p in path.parent.rglob("*"))
    ['holdout', 'holdout/index.html', 'holdout/misses.csv', 'index.html']
    """
    d = holdout_diagnosis(guard, n_boot, _seed(guard))
    html = _render(guard, d, title, holdout_link=True)
    holdout_html = None
    if d is not None:
        holdout_html = render_report(
            d, title=f"Test-set scores of the Guard: {guard.target}",
            extra={"no_features_hint": (
                "The Guard keeps its test rows as labels and scores only, so the misses cannot "
                "be sliced here. To see where its misses concentrate, run `fnguard diagnose "
                "TABLE --target COLUMN --model GUARD_FOLDER` on a labelled table."
            )},
        )
    folder_path = Path(folder)
    check_files([folder_path / INDEX], what="report file")  # nothing written when refused
    check_report_files(folder_path, [INDEX])  # not a page of the user's
    if d is not None:
        check_files([folder_path / HOLDOUT_DIR / n for n in ("misses.csv", INDEX)],
                    what="report file")
        check_report_files(folder_path / HOLDOUT_DIR, ["misses.csv", INDEX])
    folder_path, created = prepare_dir(folder, what="report folder")
    try:
        if d is not None and holdout_html is not None:
            sub, _ = prepare_dir(folder_path / HOLDOUT_DIR, what="report folder")
            csv = d.misses.to_csv(index=False, lineterminator="\n")
            write_text_atomic(sub / "misses.csv", csv, what="misses file")
            write_text_atomic(sub / INDEX, holdout_html, what="report file")
        index = write_text_atomic(folder_path / INDEX, html, what="report file")
    except BaseException:
        if created:
            shutil.rmtree(folder_path, ignore_errors=True)
        raise
    return index
