"""The fnguard report: one self-contained HTML file that works offline.

:func:`write_report` writes ``index.html`` and ``misses.csv`` into a folder;
:func:`render_report` returns the page as a string. Jinja2 and Plotly load only when a report
is rendered, so importing this package stays light.
"""

from fnguard.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
