"""The fnguard report: one self-contained HTML file that works offline.

:func:`write_report` writes ``index.html`` and ``misses.csv`` into a folder;
:func:`render_report` returns the page as a string. :func:`write_guard_report` and
:func:`render_guard_report` do the same for a fitted :class:`~fnguard.guard.Guard`. Jinja2 and
Plotly load only when a report is rendered, so importing this package stays light.
"""

from fnguard.report.guard import render_guard_report, write_guard_report
from fnguard.report.html import render_report, write_report

__all__ = ["render_guard_report", "render_report", "write_guard_report", "write_report"]
