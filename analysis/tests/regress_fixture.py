# SPDX-License-Identifier: GPL-2.0
"""A `make regress` invocation built from seeded synthetic runs: a results
store in the layout ci/regress.sh writes (store/<scenario>/<release>/<run-id>/,
boots alternating B C B C ...) and the invocation's manifest."""

import json
import os

from analysis.tests.synth import write_run

T0 = 1_764_000_000.0
GIT = "0123456789abcdef0123456789abcdef01234567"
CONFIG = "ab" * 32


def release(h):
    return f"6.1.192-cmakit-{h}"


def make_regress(root, scenarios=None, runs=3, n=200, base_hash="aaaa11112222",
                 cand_hash="bbbb33334444", seed=1, rid="20261201-093000-4242", relative=False,
                 cand_variant="cmakit"):
    """SCENARIOS: {name: candidate latency scale}; RUNS: per side, or a
    (base, cand) pair. Returns (regress_dir, store_dir, manifest)."""
    scenarios = scenarios or {"smoke": 1.0}
    nb, nc = runs if isinstance(runs, tuple) else (runs, runs)
    store = os.path.join(str(root), "store")
    rdir = os.path.join(str(root), "regress", rid)
    os.makedirs(rdir, exist_ok=True)
    man = {"schema": "cmakit.regress/1.0", "id": rid, "started": "2026-12-01T09:30:00+00:00",
           "runs": max(nb, nc), "threshold": 0.10,
           "base": {"variant": "cmakit", "release": release(base_hash), "arch": "x86_64",
                    "git_commit": GIT, "patches": base_hash, "config": CONFIG},
           "cand": {"variant": cand_variant, "release": release(cand_hash), "arch": "x86_64",
                    "git_commit": GIT, "patches": cand_hash, "config": CONFIG},
           "scenarios": {}}
    root_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for si, (scen, scale) in enumerate(scenarios.items()):
        entry = {"base": [], "cand": []}
        for side, h, sc, k in (("base", base_hash, 1.0, nb), ("cand", cand_hash, scale, nc)):
            for i in range(k):
                p = os.path.join(store, scen, release(h), f"{rid}-{side}{i + 1}")
                t = T0 + 3600 * si + 600 * (2 * i + (side == "cand"))
                write_run(p, seed=seed * 10000 + si * 100 + (50 if side == "cand" else 0) + i, n=n,
                          latency_scale=sc, scenario=scen, kernel_hash=h, started=t)
                # ci/regress.sh writes paths relative to the project root; both are accepted
                entry[side].append(os.path.relpath(p, root_dir) if relative and i % 2 == 0 else p)
        man["scenarios"][scen] = entry
    write_manifest(rdir, man)
    return rdir, store, man


def write_manifest(rdir, man):
    with open(os.path.join(rdir, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
        f.write("\n")
