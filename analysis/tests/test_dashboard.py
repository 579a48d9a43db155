# SPDX-License-Identifier: GPL-2.0
"""dashboard: one page per scenario, kernels in order, the slower kernel marked,
every run linked to a report that exists."""

import json
import os
import re

from conftest import cli
from analysis.synth import write_store


def test_dashboard(tmp_path):
    store = tmp_path / "store"
    write_store(store, runs=3, n=200, seed=1, kernel_hash="aaaa1111", started=1_700_000_000.0)
    write_store(store, runs=3, n=200, seed=2, kernel_hash="bbbb2222", latency_scale=1.3,
                started=1_700_100_000.0)
    write_store(store / "pinned", runs=3, n=100, seed=3, scenario="pinned", kernel_hash="aaaa1111")
    out = tmp_path / "site"
    r = cli("dashboard", store, out)
    assert r.returncode == 0, r.stderr
    index = (out / "index.html").read_text()
    assert 'href="default.html"' in index and 'href="pinned.html"' in index
    page = (out / "default.html").read_text()
    links = re.findall(r'<a href="(runs/[^"]+)"', page)
    assert len(links) == 6
    for link in links:
        assert os.path.isfile(out / link)
    data = json.load(open(out / "dashboard.json"))
    d = data["scenarios"]["default"]
    assert d["kernels"] == ["aaaa1111", "bbbb2222"]
    assert d["verdicts"]["bbbb2222"]["status"] == "FAIL"
    assert '<tr class="FAIL">' in page


def test_dashboard_empty_store(tmp_path):
    (tmp_path / "s").mkdir()
    r = cli("dashboard", tmp_path / "s", tmp_path / "o")
    assert r.returncode == 2 and "no run directories" in r.stderr
