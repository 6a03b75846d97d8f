"""Smoke test of benchmarks/run.py: a tiny run writes a complete report."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def test_benchmark_smoke_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Check that `run.py --sizes 10000 --repeat 1` agrees with scikit-learn and writes a table."""
    spec = importlib.util.spec_from_file_location("fnguard_bench_run", RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    output = tmp_path / "RESULTS.md"
    rows = module.main(
        ["--sizes", "10000", "--repeat", "1", "--output", str(output), "--sections"]
    )
    assert len(rows) == 4
    assert all(r.n == 10_000 and r.fnguard_s > 0 for r in rows)
    text = output.read_text(encoding="utf-8")
    assert "| dataset | n | fnguard s | scikit-learn s | ratio | results equal |" in text
    assert text.count("| 10,000 |") == 4
    assert "numpy" in text and "CPUs" in text
    assert [p.name for p in tmp_path.iterdir()] == ["RESULTS.md"]  # no temporary file left
