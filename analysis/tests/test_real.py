# SPDX-License-Identifier: GPL-2.0
"""Real runs captured on the virtual board on the patched kernel. smoke:
cmabench's result, cmatrace's records and the BPF document; the report
counts exactly the run's allocations, and every source agrees. tour: the
same with cmabench's area map, where every view of the report has data."""

import json
import os
import shutil

from conftest import FIXTURES, cli
from analysis.runs import load_run

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


TOUR = os.path.join(FIXTURES, "real-tour")


def test_real_tour_every_view_draws(tmp_path):
    """make run SCENARIO=tour on the patched kernel: pages migrated under
    occupancy, two 128 MiB requests failing on pinned pages, one injected
    fault. Every view has data, the area map is cmabench's, and the glance
    names the slowest requests and what blocked them, as the trace recorded."""
    d = tmp_path / "tour"
    shutil.copytree(TOUR, d)
    run = load_run(d)
    doc = json.load(open(d / "result.json"))
    amap = json.load(open(d / "areamap.json"))
    assert run.joined and run.area_map is not None
    assert [m["when"] for m in run.area_map["maps"]] == [m["when"] for m in amap["maps"]]
    r = cli("report", d)
    assert r.returncode == 0, r.stderr
    html = (d / "report.html").read_text()
    from test_report import VIEWS, _sections, _shows_image
    secs = _sections(html)
    for v in VIEWS:
        _shows_image(secs[v])
    recs = doc["allocations"]
    n, ok = len(recs), sum(x["ok"] for x in recs)
    assert f"{ok} of {n} requests succeeded" in secs["glance"]
    failed = [json.loads(line) for line in open(d / "cmatrace.jsonl") if '"status":"failed"' in line]
    assert len(failed) == n - ok
    slow = max((i for i in range(n) if not recs[i]["ok"]), key=lambda i: recs[i]["user_ns"])
    b = failed[[i for i in range(n) if not recs[i]["ok"]].index(slow)]["blocking"]
    assert "Slowest failure" in secs["glance"] and f"request #{slow} " in secs["glance"]
    assert f"page at pfn {b['pfn']:#x} ({b['reason']})" in secs["glance"]
    first_fail = next(m for m in amap["maps"] if m["when"] == "first_failure")
    assert first_fail["range"] is None
    from analysis.report import _blocked_pfns
    assert _blocked_pfns(run)[first_fail["request"]] == failed[0]["blocking"]["pfn"]


def test_real_tour_without_the_patched_events(tmp_path):
    """The tour run as a stock kernel records it: no phase events, no busy
    page named (the blocking pfn from test_pages_isolated, reason unknown),
    no 'migrated' of the patched stats. The views that need them say why."""
    d = tmp_path / "stock"
    shutil.copytree(TOUR, d)
    recs = [json.loads(line) for line in open(d / "cmatrace.jsonl")]
    for r in recs:
        r.update(phases=None, migrate=None, kernel_elapsed_ns=None, busy_pages=[], busy_pages_total=0)
        if r["blocking"]:
            r["blocking"] = {"pfn": r["blocking"]["pfn"], "source": "test_pages_isolated", "reason": "unknown"}
    (d / "cmatrace.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    doc = json.load(open(d / "result.json"))
    doc["run"]["kernel"]["patched"] = False
    for a in doc["allocations"]:
        a["migrated"] = None
    json.dump(doc, open(d / "result.json", "w"))
    (d / "bpf.json").unlink()
    r = cli("report", d)
    assert r.returncode == 0, r.stderr
    from test_report import _sections, _shows_image, _shows_sentence
    secs = _sections((d / "report.html").read_text())
    _shows_sentence(secs["phases"], "no phase events")
    _shows_sentence(secs["blocking"], "names no busy page")
    assert "phases unknown (stock kernel: no phase events)" in secs["glance"]
    assert "of unknown state" in secs["glance"], "the failure's blocking page: where, not why"
    for v in ("latency", "failures", "occupancy", "pagemix", "timeline", "areamap", "copyfloor"):
        _shows_image(secs[v])
    text = (d / "summary.txt").read_text()
    assert "time in phases: unknown" in text and " 0%" not in text
