"""The benchmark's quick mode runs end to end (CI smoke test). It checks that
every measurement completes and reports; it asserts nothing about timings,
which are the benchmark's job (see docs/benchmarks.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_and_reports(tmp_path):
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_RESULTS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bench"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "bench quick: step overhead p50 gRPC" in done.stdout
    results = json.loads((tmp_path / "quick.json").read_text())
    text = json.dumps(results)
    assert '"error"' not in text, text[:2000]
    assert (tmp_path / "quick.md").read_text().startswith("# Mnemo benchmark")
