# SPDX-License-Identifier: GPL-2.0
"""A real run captured on the virtual board (make run SCENARIO=smoke on the
patched kernel): cmabench's result, cmatrace's records and the BPF document.
The report counts exactly the run's allocations, and every source agrees."""

import json
import os
import shutil

from conftest import FIXTURES, cli
from analysis.load import load_run

REAL = os.path.join(FIXTURES, "real-smoke")


def test_real_run_loads_and_sources_agree():
    run = load_run(REAL)
    doc = json.load(open(os.path.join(REAL, "result.json")))
    n = len(doc["allocations"])
    assert n == doc["summary"]["allocations"]
    assert run.alloc_source == "cmabench" and len(run.allocs) == n
    assert run.trace is not None and len(run.trace) == n
    assert run.joined, "the trace's records line up with the benchmark's"
    assert run.bpf["bpf"]["cmalat"]["allocations"] == n
    assert run.scenario == "smoke" and run.kernel_hash == doc["run"]["kernel"]["series_hash"]


def test_real_run_report_counts_the_run(tmp_path):
    d = tmp_path / "real"
    shutil.copytree(REAL, d)
    r = cli("report", d)
    assert r.returncode == 0, r.stderr
    doc = json.load(open(d / "result.json"))
    n, ok = doc["summary"]["allocations"], doc["summary"]["ok"]
    assert f"allocations: {n} ({ok} ok, {n - ok} failed" in (d / "summary.txt").read_text()
    html = (d / "report.html").read_text()
    assert "Allocations counted by each source" in html
    assert f"<td class=\"l\">BPF cmalat</td><td>{n}</td>" in html
