# SPDX-License-Identifier: GPL-2.0
"""dashboard: one page per scenario, kernels by release in order, the slower
kernel marked, every run linked to a report that exists; the results store's
three levels (scenario, kernel release, run) are read."""

import json
import os
import re

from conftest import cli
from analysis.tests.synth import write_run, write_store


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
    # kernels are named by their release
    assert d["kernels"] == ["6.1.192-cmakit-aaaa1111", "6.1.192-cmakit-bbbb2222"]
    assert d["verdicts"]["6.1.192-cmakit-bbbb2222"]["status"] == "FAIL"
    assert d["verdicts"]["6.1.192-cmakit-bbbb2222"]["against"] == "6.1.192-cmakit-aaaa1111"
    assert [r["kernel_hash"] for r in d["runs"]] == ["aaaa1111"] * 3 + ["bbbb2222"] * 3
    assert '<tr class="FAIL">' in page
    assert "<td class=\"l\">6.1.192-cmakit-bbbb2222</td>" in page


def test_dashboard_empty_store(tmp_path):
    (tmp_path / "s").mkdir()
    r = cli("dashboard", tmp_path / "s", tmp_path / "o")
    assert r.returncode == 2 and "no run directories" in r.stderr


def _store_run(store, scen, h, i, t, scale=1.0, n=60):
    rel = f"6.1.192-cmakit-{h}"
    return write_run(os.path.join(store, scen, rel, f"run{i}-{h}"), seed=100 * i + len(h), n=n,
                     latency_scale=scale, scenario=scen, kernel_hash=h, started=t)


def test_three_level_store(tmp_path):
    # results/store/<scenario>/<kernel release>/<run-id>/, as make regress keeps it;
    # run ids repeat across scenarios and kernels
    store = tmp_path / "store"
    t = 1_764_000_000.0
    for i in range(3):
        for j, h in enumerate(("aaaa11112222", "bbbb33334444")):
            _store_run(store, "camera", h, i, t + 600 * (2 * i + j), scale=1.0 + 0.4 * j)
            _store_run(store, "gcma-table", h, i, t + 600 * (2 * i + j))
    (store / "camera" / "notes").mkdir()             # not a run: nothing in it
    out = tmp_path / "site"
    r = cli("dashboard", store, out, "--no-reports")
    assert r.returncode == 0, r.stderr
    data = json.load(open(out / "dashboard.json"))
    assert data["schema"] == "cmakit.dashboard/1.1"
    assert sorted(data["scenarios"]) == ["camera", "gcma-table"]
    for scen in ("camera", "gcma-table"):
        assert os.path.isfile(out / f"{scen}.html")
        d = data["scenarios"][scen]
        assert d["kernels"] == ["6.1.192-cmakit-aaaa11112222", "6.1.192-cmakit-bbbb33334444"]
        assert len(d["runs"]) == 6
        # alternating boots, in time order
        assert [r["kernel"][-4:] for r in d["runs"]] == ["2222", "4444"] * 3
        assert len({r["dir"] for r in d["runs"]}) == 6
        assert all(r["dir"].startswith(scen + "/6.1.192-cmakit-") for r in d["runs"])
    assert data["scenarios"]["camera"]["verdicts"]["6.1.192-cmakit-bbbb33334444"]["status"] == "FAIL"
    assert data["scenarios"]["gcma-table"]["verdicts"]["6.1.192-cmakit-bbbb33334444"]["status"] == "PASS"


def test_reports_are_kept_while_the_run_is_unchanged(tmp_path):
    store = tmp_path / "store"
    for i in range(2):       # the same run id in both kernels' directories
        _store_run(store, "smoke", ("aaaa1111", "bbbb2222")[i], 0, 1_764_000_000.0 + 600 * i, n=40)
    out = tmp_path / "site"
    r = cli("dashboard", store, out)
    assert r.returncode == 0, r.stderr
    camera = json.load(open(out / "dashboard.json"))["scenarios"]["smoke"]["runs"]
    assert len({r["report"] for r in camera}) == 2
    before = {r["report"]: os.path.getmtime(out / r["report"]) for r in camera}
    # a refresh renders only the reports of runs that changed
    before = {r["report"]: os.path.getmtime(out / r["report"]) for r in camera}
    changed = os.path.join(store, camera[0]["dir"])
    os.utime(os.path.join(changed, "result.json"), (before[camera[0]["report"]] + 5,) * 2)
    r = cli("dashboard", store, out)
    assert r.returncode == 0, r.stderr
    after = {p: os.path.getmtime(out / p) for p in before}
    assert after[camera[0]["report"]] > before[camera[0]["report"]]
    assert all(after[p] == before[p] for p in before if p != camera[0]["report"])


def test_deeper_runs_are_not_read(tmp_path):
    store = tmp_path / "store"
    _store_run(store / "extra", "smoke", "aaaa1111", 0, 1_764_000_000.0)   # four levels down
    r = cli("dashboard", store, tmp_path / "o", "--no-reports")
    assert r.returncode == 2 and "no run directories" in r.stderr
