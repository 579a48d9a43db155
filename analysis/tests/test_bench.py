# SPDX-License-Identifier: GPL-2.0
"""bench ratios: kernel against kernel over alternating boots. One request
size gives the ratio of medians; several give the geometric mean of the
per-size ratios, each size's own ratio beside it; the intervals resample
whole boots."""

import json
import os
import subprocess
import sys

import numpy as np

from conftest import ROOT


def _boot(d, name, sizes, scale, rng, n=12):
    os.makedirs(os.path.join(d, name))
    allocs = []
    for z in sizes:
        for _ in range(n):
            # latency grows with the size, with 2% noise
            allocs.append({"pages": z, "ok": True, "user_ns": scale * (1e6 + 3e3 * z) * rng.normal(1, 0.02),
                           "kernel_ns": None})
    with open(os.path.join(d, name, "w.bare.json"), "w") as f:
        json.dump({"allocations": allocs}, f)


def _ratios(d):
    r = subprocess.run([sys.executable, "-m", "analysis.bench", "ratios", str(d)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.load(open(os.path.join(d, "ratios.json"))), r.stdout


def test_several_sizes_give_the_geometric_mean_of_per_size_ratios(tmp_path):
    rng = np.random.default_rng(3)
    for i in range(1, 4):
        _boot(tmp_path, f"stock-{i}", (1, 1024, 32000), 1.0, rng)
        _boot(tmp_path, f"cmakit-{i}", (1, 1024, 32000), 1.10, rng)
    res, out = _ratios(tmp_path)
    r = res["kernels"]["cmakit"]["w"]
    assert r["statistic"] == "geometric mean of per-size median ratios"
    assert sorted(r["sizes"], key=int) == ["1", "1024", "32000"]
    for z in r["sizes"].values():
        assert 1.07 < z["ratio"] < 1.13 and z["lo"] <= z["ratio"] <= z["hi"]
    assert 1.08 < r["ratio"] < 1.12 and r["lo"] <= r["ratio"] <= r["hi"]
    assert r["boots"] == [3, 3] and r["allocations"] == [108, 108]
    assert "geometric mean over request sizes" in out and "32000 pages" in out


def test_one_size_gives_the_ratio_of_medians(tmp_path):
    rng = np.random.default_rng(4)
    for i in range(1, 3):
        _boot(tmp_path, f"stock-{i}", (256,), 1.0, rng)
        _boot(tmp_path, f"cmakit-{i}", (256,), 0.95, rng)
    res, _ = _ratios(tmp_path)
    r = res["kernels"]["cmakit"]["w"]
    assert r["statistic"] == "ratio of medians" and "sizes" not in r
    assert 0.93 < r["ratio"] < 0.97
