# SPDX-License-Identifier: GPL-2.0
"""Ratios between kernels or modes measured in alternating boots, with intervals.

    python3 -m analysis.bench ratios BENCH_DIR [--resamples 2000] [--seed 1]
    python3 -m analysis.bench power --base RUN_DIR... --cand RUN_DIR... [--runs 3] [--trials 200]

BENCH_DIR holds one directory per boot, ``<kernel>-<n>/`` (``stock-1``,
``cmakit-1``, ``stock-2`` ...), each with one cmabench document per
workload and mode, ``<workload>.<mode>.json`` (mode ``bare`` is the
reference). It prints and writes ``ratios.json``: for every workload the
median-latency ratio of each kernel against the first kernel (bare mode),
and within each kernel of each mode against bare, each with a bootstrap 95%
interval that resamples whole boots. A workload of several request sizes
gets each size's ratio and, as its figure, their geometric mean. Allocations of one boot share the
boot's memory layout, its page placement and the host's load at the time,
so they are not independent draws; a boot is.

``power`` measures how often `compare` (the rule `make regress` applies)
flags a candidate, on pools of real runs (one boot each) that alternated in
time (B C B C ...). `make regress` compares such runs in adjacent pairs, and
so does every trial here:

  flagged       each trial takes --runs of the adjacent (baseline, candidate)
                pairs; every such combination is tried (at most --trials of
                them, drawn at random when there are more);
  false alarm   each trial takes --runs pairs of consecutive boots of the
                same kernel (baseline 1 and 2, 3 and 4, ...; the same for the
                candidate's pool), one of each pair on either side.
                Consecutive boots of one kernel are further apart in time
                than a (baseline, candidate) pair, so their drift is larger:
                this errs on the side of false alarms.

The rates come with Clopper-Pearson 95% intervals over the trials. Trials
share boots, so those intervals are narrower than as many independent
experiments would give; the number of boots behind them is printed too.
"""

import json
import os
import re
import sys

import numpy as np

from .errors import InputError, module_parser
from .jsonio import write_json

BOOT = re.compile(r"^(?P<kernel>[A-Za-z0-9_.:+-]+?)-(?P<n>\d+)$")


def _latencies(path):
    """(pages, latency_ns) arrays of the successful allocations of one document."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(path, str(e)) from None
    ok = [a for a in doc.get("allocations", []) if a.get("ok")]
    # user_ns: the one time every kernel and backend gives (kernel_ns is the
    # series' and the debugfs backend's only; a ratio takes one metric)
    return (np.asarray([a.get("pages", 0) for a in ok], dtype=np.int64),
            np.asarray([a["user_ns"] for a in ok], dtype=np.float64))


def load_boots(d):
    """{kernel: [{(workload, mode): (pages, latencies)}, ...]} in boot order."""
    if not os.path.isdir(d):
        raise InputError(d, "no such directory")
    boots = {}
    names = [n for n in os.listdir(d) if BOOT.match(n) and os.path.isdir(os.path.join(d, n))]
    for name in sorted(names, key=lambda n: int(BOOT.match(n)["n"])):
        m = BOOT.match(name)
        runs = {}
        for f in sorted(os.listdir(os.path.join(d, name))):
            parts = f.split(".")
            if len(parts) == 3 and parts[2] == "json":
                pages, lat = _latencies(os.path.join(d, name, f))
                if len(lat):
                    runs[(parts[0], parts[1])] = (pages, lat)
        boots.setdefault(m["kernel"], []).append(runs)
    if not boots:
        raise InputError(d, "no boot directories (<kernel>-<n>/) here")
    return boots


def _stat(base, cand):
    """The latency ratio of two pools of (pages, latencies) boots: the ratio
    of medians for one request size; for several (gcma-table's 1 to 32000
    pages), the geometric mean of the per-size ratios, with each size's own
    ratio. A median pooled over sizes would fall on the step between two
    sizes and jump from one to the other with a single allocation."""
    bp = np.concatenate([b[0] for b in base])
    bl = np.concatenate([b[1] for b in base])
    cp = np.concatenate([c[0] for c in cand])
    cl = np.concatenate([c[1] for c in cand])
    sizes = sorted(set(bp.tolist()) & set(cp.tolist()))
    if len(sizes) <= 1:
        return float(np.median(cl) / np.median(bl)), {}
    per = {int(z): float(np.median(cl[cp == z]) / np.median(bl[bp == z])) for z in sizes}
    return float(np.exp(np.mean(np.log(list(per.values()))))), per


def _interval(draw, resamples, seed):
    """Point estimate, per-size ratios and 95% percentile intervals of both,
    from DRAW(rng) -> (base boots, cand boots); DRAW(None) gives all boots."""
    point, per = _stat(*draw(None))
    rng = np.random.default_rng(seed)
    est = np.empty(resamples)
    per_est = {z: np.empty(resamples) for z in per}
    for i in range(resamples):
        est[i], p = _stat(*draw(rng))
        for z in per:
            per_est[z][i] = p.get(z, np.nan)
    lo, hi = np.percentile(est, [2.5, 97.5])
    out = {"ratio": point, "lo": float(lo), "hi": float(hi),
           "statistic": "geometric mean of per-size median ratios" if per else "ratio of medians"}
    if per:
        out["sizes"] = {str(z): {"ratio": per[z], "lo": float(np.nanpercentile(per_est[z], 2.5)),
                                 "hi": float(np.nanpercentile(per_est[z], 97.5))} for z in per}
    return out


def boot_ratio(base, cand, resamples=2000, seed=1):
    """Candidate against baseline latency (see _stat), and a 95% interval
    from resampling whole boots on each side. base, cand: lists of per-boot
    (pages, latencies). None when a side is empty."""
    base = [b for b in base if len(b[1])]
    cand = [c for c in cand if len(c[1])]
    if not base or not cand:
        return None

    def draw(rng):
        if rng is None:
            return base, cand
        return ([base[j] for j in rng.integers(len(base), size=len(base))],
                [cand[j] for j in rng.integers(len(cand), size=len(cand))])
    out = _interval(draw, resamples, seed)
    out.update({"boots": [len(base), len(cand)],
                "allocations": [int(sum(len(b[1]) for b in base)), int(sum(len(c[1]) for c in cand))]})
    return out


def paired_ratio(boots, workload, mode, resamples=2000, seed=1):
    """A mode against bare within the same boots: per resample, the boots are
    drawn once and both sides taken from the same boots."""
    pairs = [(r[(workload, "bare")], r[(workload, mode)]) for r in boots
             if (workload, "bare") in r and (workload, mode) in r]
    if not pairs:
        return None

    def draw(rng):
        idx = range(len(pairs)) if rng is None else rng.integers(len(pairs), size=len(pairs))
        return [pairs[j][0] for j in idx], [pairs[j][1] for j in idx]
    out = _interval(draw, resamples, seed)
    out["boots"] = len(pairs)
    return out


def ratios(d, resamples=2000, seed=1):
    boots = load_boots(d)
    kernels = list(boots)
    ref = kernels[0]
    workloads = sorted({w for k in boots for r in boots[k] for (w, _) in r})
    none = (np.empty(0, np.int64), np.empty(0))
    out = {"schema": "cmakit.bench-kernels/1.1", "reference": ref, "kernels": {}, "modes": {}}
    for k in kernels[1:]:
        out["kernels"][k] = {}
        for w in workloads:
            r = boot_ratio([b.get((w, "bare"), none) for b in boots[ref]],
                           [b.get((w, "bare"), none) for b in boots[k]], resamples, seed)
            if r:
                out["kernels"][k][w] = r
    for k in kernels:
        modes = sorted({m for r in boots[k] for (_, m) in r if m != "bare"})
        for w in workloads:
            for m in modes:
                r = paired_ratio(boots[k], w, m, resamples, seed)
                if r:
                    out["modes"].setdefault(k, {}).setdefault(w, {})[m] = r
    return out


def _fmt(r):
    return f"{r['ratio']:.3f} ({r['lo']:.3f}-{r['hi']:.3f})"


def print_ratios(res, f=sys.stdout):
    ref = res["reference"]
    for k, ws in res["kernels"].items():
        print(f"median latency, {k} against {ref} (bare, 95% interval over boots):", file=f)
        for w, r in ws.items():
            print(f"  {w:12} {_fmt(r)}  [{r['boots'][0]}+{r['boots'][1]} boots, "
                  f"{r['allocations'][0]}+{r['allocations'][1]} allocations"
                  + ("; geometric mean over request sizes" if "sizes" in r else "") + "]", file=f)
            for z, zr in r.get("sizes", {}).items():
                print(f"    {z + ' pages':>12} {_fmt(zr)}", file=f)
    for k, ws in res["modes"].items():
        print(f"median latency with a tool attached against without, on {k} (same boots):", file=f)
        for w, ms in ws.items():
            for m, r in ms.items():
                print(f"  {w:12} {m:12} {_fmt(r)}  [{r['boots']} boots"
                      + ("; geometric mean over request sizes" if "sizes" in r else "") + "]", file=f)


def clopper_pearson(k, n, conf=0.95):
    from scipy.stats import beta
    a = (1 - conf) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _combos(n, k, limit, rng):
    """Index tuples of k out of n: all of them, or LIMIT drawn without repeats."""
    from itertools import combinations
    from math import comb
    if comb(n, k) <= limit:
        return list(combinations(range(n), k))
    seen = set()
    while len(seen) < limit:
        seen.add(tuple(sorted(rng.choice(n, k, replace=False).tolist())))
    return sorted(seen)


def power(base_dirs, cand_dirs, runs=3, trials=200, seed=1, threshold=0.10, alpha=0.05):
    from .compare import compare_runs, time_pairs
    from .runs import load_run
    base = sorted((load_run(d) for d in base_dirs), key=lambda r: r.started)
    cand = sorted((load_run(d) for d in cand_dirs), key=lambda r: r.started)
    pairs = time_pairs(base, cand)
    if pairs is None:
        raise InputError(base_dirs[0] if base_dirs else "-",
                         "the baseline and candidate runs do not alternate in time (B C B C ...), "
                         "so they cannot be paired")
    if len(pairs) < runs:
        raise InputError(base_dirs[0], f"need {runs} (baseline, candidate) pairs, have {len(pairs)}")
    rng = np.random.default_rng(seed)
    same = [(pool[i], pool[i + 1]) for pool in (base, cand) for i in range(0, len(pool) - 1, 2)]
    out = {"design": "paired", "runs_per_side": runs, "pool": [len(base), len(cand)],
           "threshold": threshold, "alpha": alpha}

    def rate(key, trial_sides):
        k = 0
        metrics = {}
        for b, c in trial_sides:
            v = compare_runs(b, c, threshold, alpha, runs, paired=True)
            if v["status"] == "FAIL":
                k += 1
                for r in v["metrics"]:
                    if r["status"] == "FAIL":
                        metrics[r["name"]] = metrics.get(r["name"], 0) + 1
        n = len(trial_sides)
        lo, hi = clopper_pearson(k, n)
        out[key] = {"count": k, "trials": n, "rate": k / n, "lo": lo, "hi": hi,
                    "metrics": dict(sorted(metrics.items(), key=lambda x: -x[1])[:5])}

    flagged = [([base[pairs[i][0]] for i in t], [cand[pairs[i][1]] for i in t])
               for t in _combos(len(pairs), runs, trials, rng)]
    rate("flagged", flagged)
    alarms = []
    if len(same) >= runs:
        for t in _combos(len(same), runs, trials, rng):
            flip = rng.integers(0, 2, runs)
            alarms.append(([same[i][f] for i, f in zip(t, flip)], [same[i][1 - f] for i, f in zip(t, flip)]))
    if not alarms:
        raise InputError(base_dirs[0], f"need {runs} pairs of consecutive boots of one kernel for the "
                         f"false-alarm trials, have {len(same)}")
    rate("false_alarm", alarms)
    return out


def main(argv=None):
    p, sub = module_parser("bench", __doc__)
    r = sub.add_parser("ratios", help="kernel and mode ratios of a bench directory")
    r.add_argument("dir")
    r.add_argument("--resamples", type=int, default=2000)
    r.add_argument("--seed", type=int, default=1)
    w = sub.add_parser("power", help="how often compare flags a candidate, and equal kernels")
    w.add_argument("--base", nargs="+", required=True)
    w.add_argument("--cand", nargs="+", required=True)
    w.add_argument("--runs", type=int, default=3)
    w.add_argument("--trials", type=int, default=200)
    w.add_argument("--seed", type=int, default=1)
    w.add_argument("--threshold", type=float, default=10.0, help="percent (default 10, as make regress)")
    w.add_argument("--json")
    a = p.parse_args(argv)
    try:
        if a.cmd == "power":
            res = power(a.base, a.cand, a.runs, a.trials, a.seed, a.threshold / 100.0)
        else:
            res = ratios(a.dir, a.resamples, a.seed)
    except InputError as e:
        print(f"analysis: {e}", file=sys.stderr)
        return 2
    if a.cmd == "power":
        for key, what in (("flagged", "candidate flagged"), ("false_alarm", "equal kernels flagged")):
            r = res[key]
            print(f"{what}: {r['count']} of {r['trials']} trials = {r['rate']:.1%} "
                  f"(95% interval {r['lo']:.1%}-{r['hi']:.1%}; {res['runs_per_side']} pairs of runs per trial "
                  f"from {res['pool'][0]} baseline and {res['pool'][1]} candidate boots, threshold "
                  f"{100 * res['threshold']:.0f}%)"
                  + (f"; metrics: {', '.join(f'{m} {n}' for m, n in r['metrics'].items())}" if r["metrics"] else ""))
        if a.json:
            write_json(a.json, res)
        return 0
    write_json(os.path.join(a.dir, "ratios.json"), res)
    print_ratios(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
