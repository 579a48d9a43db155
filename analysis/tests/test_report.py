# SPDX-License-Identifier: GPL-2.0
"""The report: one self-contained page with every view, numbers that match the
records, a text summary, and sensible output for runs that lack a view."""

import base64
import json
import re

import numpy as np

from conftest import cli


def _images(html):
    return re.findall(r'<img src="([^"]+)"', html)


def test_report_is_self_contained(small_run):
    r = cli("report", small_run)
    assert r.returncode == 0, r.stderr
    html = (small_run / "report.html").read_text()
    imgs = _images(html)
    # CDF+histogram, outcomes, occupancy/mix, timeline, area map, area
    # composition, phases, copy floor, BPF histograms
    assert len(imgs) == 9, len(imgs)
    for uri in imgs:
        assert uri.startswith("data:image/png;base64,")
        png = base64.b64decode(uri.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    assert not re.search(r'(src|href)="(https?:|//|/)', html), "no external references"
    assert "<script" not in html
    for title in ("Latency per request size", "Success and failures", "Latency against occupancy",
                  "Timeline", "CMA area map", "Phase breakdown", "copy floor"):
        assert title in html, title


def test_summary_numbers_match_records(small_run):
    cli("report", small_run)
    doc = json.load(open(small_run / "result.json"))
    recs = doc["allocations"]
    text = (small_run / "summary.txt").read_text()
    ok = sum(r["ok"] for r in recs)
    assert f"allocations: {len(recs)} ({ok} ok, {len(recs) - ok} failed" in text
    ebusy = sum(1 for r in recs if r["errno"] == 16)
    if ebusy:
        assert f"EBUSY {ebusy}" in text


def test_gcma_table(gcma_run):
    r = cli("report", gcma_run)
    assert r.returncode == 0, r.stderr
    html = (gcma_run / "report.html").read_text()
    assert "GCMA paper layout" in html
    recs = json.load(open(gcma_run / "result.json"))["allocations"]
    for pages, label in ((1, "4 KiB"), (1024, "4 MiB"), (4096, "16 MiB"), (32000, "125 MiB")):
        lat = np.array([r["user_ns"] for r in recs if r["pages"] == pages and r["ok"]]) / 1e6
        row = f"<td class=\"l\">{label}</td><td>{len(lat)}</td><td>{lat.min():.3f}</td><td>{lat.mean():.3f}</td><td>{lat.max():.3f}</td>"
        assert row in html, row
    # no trace and no area map in this run: the views say so instead of failing
    assert "no phase timing" in html and "no area map" in html


def test_empty_run(small_run):
    p = small_run / "result.json"
    doc = json.load(open(p))
    doc["allocations"] = []
    doc["summary"]["allocations"] = 0
    json.dump(doc, open(p, "w"))
    (small_run / "cmatrace.jsonl").unlink()
    r = cli("report", small_run)
    assert r.returncode == 0, r.stderr
    assert "allocations: 0 (0 ok" in r.stdout


def test_summary_command(small_run):
    r = cli("summary", small_run)
    assert r.returncode == 0 and r.stdout.startswith("run run-small: scenario default")
