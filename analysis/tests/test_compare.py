# SPDX-License-Identifier: GPL-2.0
"""compare: flags a 20% slower candidate, stays PASS on same-distribution runs,
speaks kcidb, and refuses what it cannot judge."""

import json

from conftest import cli
from analysis.compare import compare_runs
from analysis.tests.synth import make_run, write_store

KCIDB = {"PASS", "FAIL", "ERROR", "SKIP", "DONE", "MISS"}


def _pair(seed, scale, runs=3, n=300):
    base = [make_run(seed=seed * 100 + i, n=n) for i in range(runs)]
    cand = [make_run(seed=seed * 100 + 50 + i, n=n, latency_scale=scale) for i in range(runs)]
    return base, cand


def test_flags_20_percent_slower():
    for seed in (11, 12, 13):
        v = compare_runs(*_pair(seed, 1.2))
        assert v["status"] == "FAIL", (seed, v["regressions"])
        assert v["regressions"]


def test_same_distribution_stays_pass():
    passed = sum(compare_runs(*_pair(1000 + s, 1.0))["status"] == "PASS" for s in range(200))
    assert passed >= 190, f"only {passed}/200 same-distribution comparisons passed"


def test_cli_regression_exit_status(tmp_path):
    write_store(tmp_path / "base", runs=3, n=300, seed=1, kernel_hash="aaaa1111")
    write_store(tmp_path / "cand", runs=3, n=300, seed=2, kernel_hash="bbbb2222", latency_scale=1.2)
    r = cli("compare", tmp_path / "base", tmp_path / "cand", "-o", tmp_path / "c.html", "--json", tmp_path / "v.json")
    assert r.returncode == 1, r.stdout + r.stderr
    v = json.load(open(tmp_path / "v.json"))
    assert v["schema"] == "cmakit.verdict/1.0" and v["status"] == "FAIL"
    for m in v["metrics"]:
        assert m["status"] in KCIDB
        assert "unit" in m and m["direction"] in ("lower", "higher", None)
        if m["direction"] is None:
            assert m["status"] == "DONE"
    lat = [m for m in v["metrics"] if m["name"] == "latency_p50[4MiB]"][0]
    assert lat["unit"] == "ns" and lat["direction"] == "lower" and lat["status"] == "FAIL"
    assert lat["p_value"] <= 0.05 and lat["change"] > 0.10 and lat["cliffs_delta"] == 1.0
    assert "FAIL" in (tmp_path / "c.html").read_text()
    # a looser threshold lets the same change through
    r = cli("compare", tmp_path / "base", tmp_path / "cand", "--threshold", "80")
    assert r.returncode == 0, r.stdout


def test_cli_same_is_pass(tmp_path):
    write_store(tmp_path / "base", runs=3, n=300, seed=1)
    write_store(tmp_path / "cand", runs=4, n=300, seed=3)
    r = cli("compare", tmp_path / "base", tmp_path / "cand", "--json", "-")
    assert r.returncode == 0, r.stdout
    assert json.loads(r.stdout)["status"] == "PASS"


def test_too_few_runs_is_error(tmp_path):
    write_store(tmp_path / "base", runs=2, n=100, seed=1)
    write_store(tmp_path / "cand", runs=3, n=100, seed=2)
    r = cli("compare", tmp_path / "base", tmp_path / "cand", "--json", tmp_path / "v.json")
    assert r.returncode == 2
    assert json.load(open(tmp_path / "v.json"))["status"] == "ERROR"
    assert "at least 3" in r.stderr


def test_scenario_mismatch(tmp_path):
    write_store(tmp_path / "base", runs=3, n=50, seed=1, scenario="default")
    write_store(tmp_path / "cand", runs=3, n=50, seed=2, scenario="pinned")
    r = cli("compare", tmp_path / "base", tmp_path / "cand")
    assert r.returncode == 2 and "scenarios differ" in r.stderr


def test_bad_threshold_is_usage_error(tmp_path):
    r = cli("compare", tmp_path, tmp_path, "--threshold", "ten")
    assert r.returncode == 2 and "not a number" in r.stderr
