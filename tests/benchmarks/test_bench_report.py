"""``benchmarks/report.py``: the committed ``results/benchmarks.md`` is exactly its rendering of
``results/benchmarks.json``, and every committed record has a renderer of its own."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _report():
    sys.path.insert(0, str(ROOT / "benchmarks"))  # the scripts import their sibling modules by name
    try:
        spec = importlib.util.spec_from_file_location("bench_report", ROOT / "benchmarks" / "report.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_committed_markdown_is_the_rendering_of_its_json():
    results = json.loads((ROOT / "results" / "benchmarks.json").read_text())
    assert _report().render(results) == (ROOT / "results" / "benchmarks.md").read_text()


def test_every_committed_benchmark_has_its_renderer_and_order():
    report = _report()
    kinds = {r["benchmark"] for r in json.loads((ROOT / "results" / "benchmarks.json").read_text())["records"]}
    assert kinds <= set(report.RENDERERS) and kinds <= set(report.ORDER)


def test_epoch_table_shows_each_datasets_target_and_the_round_range():
    record = json.loads((ROOT / "results" / "bench_epoch_full.json").read_text())
    lines = _report().render_epoch(record)
    for d in record["datasets"]:
        row = next(line for line in lines if line.startswith(f"| {d['dataset']} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[8:] == [f"**{d['ratio']:.3f}**", f"{min(d['ratio_rounds']):.3f} .. {max(d['ratio_rounds']):.3f}",
                             f"<= {d['target']:.2f}", "met" if d["target_met"] else "**missed**"]
