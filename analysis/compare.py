# SPDX-License-Identifier: GPL-2.0
"""`compare BASE_DIR CAND_DIR`: baseline vs candidate, per metric a kcidb status.

The unit of evidence is the run: every run gives one value per metric (median
latency per request size, tail latency, success rate, retries, ...), and the
candidate's values are compared with the baseline's by a one-sided
Mann-Whitney U test in the metric's bad direction. A metric FAILs only when
both hold (as LKP and mmtests do it): the test is significant (p <= alpha)
and the change of the medians is worse than the threshold. With three runs a
side the exact test reaches p = 0.05 only when every candidate run is worse
than every baseline run, which is the "non-overlapping ranges" rule.

Status words are kcidb's: PASS (no significant regression), FAIL (regression),
ERROR (the comparison could not be made: too few runs), SKIP (the metric is
missing on one side), DONE (a measurement with no better direction, shown for
information). The verdict is FAIL if any metric FAILs, ERROR if the inputs
do not allow a comparison, else PASS.

Runs that alternate in time (B C B C ..., as `make regress` boots them) are
compared in pairs instead: boots of one kernel on a shared machine drift
with its load far more than adjacent boots differ, so each candidate run is
set against the baseline run next to it. Per metric, the paired relative
differences (c_i - b_i) / median(b) in the bad direction go through a
one-sided t-test; a metric FAILs when it is significant (p <= alpha) and
their mean is worse than the threshold. (No Holm adjustment here: the
latency metrics move together, and with three pairs it would leave no
power; the threshold on the mean is what keeps equal kernels PASS.) The verdict gives the mean with its
95% t-interval. The pooled per-allocation test is not used for paired runs:
allocations within one boot share that boot's drift and are not independent.

This module computes the verdict; its page is report.html_verdict, the
command (files written, lines printed) is cli.py's.
"""

import numpy as np
from scipy import stats

from .errors import InputError
from .runs import find_runs, load_run
from .summary import metric_samples, metric_spec, run_metrics

VERDICT_SCHEMA = "cmakit.verdict/1.0"


def clean_json(v):
    """NaN and infinities become null: the verdict is strict JSON."""
    if isinstance(v, dict):
        return {k: clean_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean_json(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return clean_json(v.item())
    return v


def _median(v):
    return float(np.median(v)) if len(v) else float("nan")


def _mwu(cand, base, alt):
    method = "exact" if len(base) * len(cand) <= 400 and len(base) < 50 and len(cand) < 50 else "asymptotic"
    return stats.mannwhitneyu(cand, base, alternative=alt, method=method)


def pooled_p(base_samples, cand_samples, direction):
    """One-sided p that the candidate's pooled per-allocation sample is worse."""
    b = np.concatenate(base_samples) if base_samples else np.zeros(0)
    c = np.concatenate(cand_samples) if cand_samples else np.zeros(0)
    if len(b) < 2 or len(c) < 2:
        return None
    if direction == "higher" and np.isin(b, (0.0, 1.0)).all() and np.isin(c, (0.0, 1.0)).all():
        # success flags: Fisher's exact test on the 2x2 table (fewer successes = worse)
        table = [[int(c.sum()), int(len(c) - c.sum())], [int(b.sum()), int(len(b) - b.sum())]]
        return float(stats.fisher_exact(table, alternative="less")[1])
    if np.all(b == b[0]) and np.all(c == b[0]):
        return 1.0
    alt = "greater" if direction == "lower" else "less"
    return float(stats.mannwhitneyu(c, b, alternative=alt, method="asymptotic").pvalue)


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values (None stays None)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = list(pvalues)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * pvalues[i]))
        out[i] = running
    return out


def compare_metric(name, base, cand, threshold, alpha, min_runs):
    """One metric from per-run values: dict with status, change, p-value, effect size.
    (compare_runs then requires the pooled test too, see there.)"""
    unit, direction = metric_spec(name)
    base = np.asarray(base, dtype=float)
    cand = np.asarray(cand, dtype=float)
    row = {"name": name, "unit": unit, "direction": direction,
           "base": {"n": int(len(base)), "median": _median(base), "values": base.tolist()},
           "candidate": {"n": int(len(cand)), "median": _median(cand), "values": cand.tolist()},
           "change": None, "p_value": None, "u": None, "cliffs_delta": None, "note": ""}
    if not len(base) or not len(cand):
        row["status"] = "SKIP"
        row["note"] = "absent in the " + ("baseline" if not len(base) else "candidate")
        return row
    mb, mc = row["base"]["median"], row["candidate"]["median"]
    if mb != 0:
        change = (mc - mb) / abs(mb)
    else:
        change = 0.0 if mc == 0 else float(np.sign(mc) * np.inf)
    row["change"] = change
    if direction is None:
        row["status"] = "DONE"
        return row
    if len(base) < min_runs or len(cand) < min_runs:
        row["status"] = "ERROR"
        row["note"] = f"needs {min_runs} runs a side"
        return row
    # one-sided: is the candidate worse?
    alt = "greater" if direction == "lower" else "less"
    res = _mwu(cand, base, alt)
    u = float(res.statistic)
    p = float(res.pvalue)
    delta = 2.0 * u / (len(base) * len(cand)) - 1.0      # P(c > b) - P(c < b)
    worse = change if direction == "lower" else -change
    row.update(p_value=p, u=u, cliffs_delta=delta if direction == "lower" else -delta)
    if p <= alpha and worse > threshold:
        row["status"] = "FAIL"
        row["note"] = f"{100 * worse:.1f}% worse (threshold {100 * threshold:.0f}%)"
    else:
        row["status"] = "PASS"
        better_p = _mwu(cand, base, "less" if alt == "greater" else "greater").pvalue
        if better_p <= alpha and -worse > threshold:
            row["note"] = f"{100 * -worse:.1f}% better"
        elif p <= alpha:
            row["note"] = "significant but below the threshold"
    return row


def time_pairs(base_runs, cand_runs):
    """Adjacent (baseline, candidate) pairs of runs that alternate in time, as
    index pairs, or None when the runs do not alternate (start times unknown
    or equal, unequal counts, or a run left without its neighbour)."""
    if not base_runs or len(base_runs) != len(cand_runs):
        return None
    seq = [(r.started, 0, i) for i, r in enumerate(base_runs)] + \
          [(r.started, 1, i) for i, r in enumerate(cand_runs)]
    if any(t <= 0 for t, _, _ in seq) or len({t for t, _, _ in seq}) != len(seq):
        return None
    seq.sort()
    pairs = []
    for k in range(0, len(seq), 2):
        (_, s1, i1), (_, s2, i2) = seq[k], seq[k + 1]
        if s1 == s2:
            return None
        pairs.append((i1, i2) if s1 == 0 else (i2, i1))
    return pairs


def compare_paired(name, base, cand, threshold, alpha, min_runs):
    """One metric from per-run values of paired runs (base[i] next to cand[i];
    None where a run lacks the metric)."""
    unit, direction = metric_spec(name)
    keep = [(b, c) for b, c in zip(base, cand) if b is not None and c is not None]
    b = np.asarray([x for x, _ in keep], dtype=float)
    c = np.asarray([y for _, y in keep], dtype=float)
    row = {"name": name, "unit": unit, "direction": direction, "paired": True,
           "base": {"n": int(len([x for x in base if x is not None])), "median": _median(b),
                    "values": [x for x in base]},
           "candidate": {"n": int(len([y for y in cand if y is not None])), "median": _median(c),
                         "values": [y for y in cand]},
           "pairs": len(keep), "change": None, "change_lo": None, "change_hi": None,
           "p_value": None, "u": None, "cliffs_delta": None, "note": ""}
    if not len(keep):
        row["status"] = "SKIP"
        row["note"] = "absent in the " + ("baseline" if all(x is None for x in base) else "candidate")
        return row
    mb = row["base"]["median"]
    scale = abs(mb) if mb != 0 else 1.0
    d = (c - b) / scale                        # relative to the baseline's median
    row["change"] = float(d.mean()) if mb != 0 else (0.0 if not d.any() else float(np.sign(d.mean()) * np.inf))
    if direction is None:
        row["status"] = "DONE"
        return row
    if len(keep) < min_runs:
        row["status"] = "ERROR"
        row["note"] = f"needs {min_runs} pairs of runs"
        return row
    w = d if direction == "lower" else -d      # worse is positive
    n = len(w)
    sd = float(w.std(ddof=1))
    if sd == 0:
        p = 0.0 if w.mean() > 0 else 1.0
        half = 0.0
    else:
        se = sd / np.sqrt(n)
        p = float(stats.t.sf(w.mean() / se, n - 1))
        half = float(stats.t.ppf(0.975, n - 1) * se)
    lo, hi = float(d.mean() - half), float(d.mean() + half)
    row.update(p_value=p, change_lo=lo, change_hi=hi)
    worse = float(w.mean())
    if mb == 0 and d.any():
        worse = float(np.sign(worse) * np.inf)
    if p <= alpha and worse > threshold:
        row["status"] = "FAIL"
        row["note"] = f"{100 * worse:.1f}% worse in {n} pairs (threshold {100 * threshold:.0f}%)"
    else:
        row["status"] = "PASS"
        better_p = float(stats.t.sf(-w.mean() / se, n - 1)) if sd else (0.0 if w.mean() < 0 else 1.0)
        if -worse > threshold and better_p <= alpha:
            row["note"] = f"{100 * -worse:.1f}% better in {n} pairs"
        elif p <= alpha:
            row["note"] = "significant but below the threshold"
    return row


def compare_runs(base_runs, cand_runs, threshold=0.10, alpha=0.05, min_runs=3, paired=None):
    """The verdict document for two lists of loaded runs. PAIRED: True compares
    base_runs[i] with cand_runs[i]; None (the default) pairs runs that
    alternate in time (time_pairs) and compares the rest unpaired; False never
    pairs."""
    bm = [run_metrics(r) for r in base_runs]
    cm = [run_metrics(r) for r in cand_runs]
    pairs = None
    if paired is True:
        if len(base_runs) != len(cand_runs):
            raise ValueError("paired runs need as many baseline as candidate runs")
        pairs = [(i, i) for i in range(len(base_runs))]
    elif paired is None:
        pairs = time_pairs(base_runs, cand_runs)
    if pairs is not None:
        return _compare_paired_runs(base_runs, cand_runs, bm, cm, pairs, threshold, alpha, min_runs)
    names = []
    for m in bm + cm:
        names += [k for k in m if k not in names]
    rows = []
    for name in names:
        b = [m[name] for m in bm if name in m]
        c = [m[name] for m in cm if name in m]
        rows.append(compare_metric(name, b, c, threshold, alpha, min_runs))
    # the pooled per-allocation test of every directional metric, Holm-adjusted
    # over the metrics, must agree before a FAIL stands
    raw = []
    for r in rows:
        p = None
        if r["direction"] and r["status"] in ("PASS", "FAIL"):
            bs = [x for x in (metric_samples(run, r["name"]) for run in base_runs) if x is not None]
            cs = [x for x in (metric_samples(run, r["name"]) for run in cand_runs) if x is not None]
            p = pooled_p(bs, cs, r["direction"])
        raw.append(p)
    for r, p, padj in zip(rows, raw, holm(raw)):
        r["pooled_p"] = p
        r["pooled_p_holm"] = padj
        if r["status"] == "FAIL" and padj is not None and padj > alpha:
            r["status"] = "PASS"
            r["note"] = (f"{r['note']}, but the pooled per-allocation test is not significant "
                         f"(Holm-adjusted p {padj:.3g})")
    return _verdict(base_runs, cand_runs, rows, threshold, alpha, min_runs, None,
                    "FAIL = one-sided Mann-Whitney U over per-run values p <= alpha, and the pooled "
                    "per-allocation test (Mann-Whitney U; Fisher's exact for success rates) "
                    "Holm-adjusted over metrics p <= alpha, and the median change worse than the threshold")


def _compare_paired_runs(base_runs, cand_runs, bm, cm, pairs, threshold, alpha, min_runs):
    names = []
    for m in bm + cm:
        names += [k for k in m if k not in names]
    rows = []
    for name in names:
        b = [bm[i].get(name) for i, _ in pairs]
        c = [cm[j].get(name) for _, j in pairs]
        r = compare_paired(name, b, c, threshold, alpha, min_runs)
        r["pooled_p"] = r["pooled_p_holm"] = None
        rows.append(r)
    return _verdict(base_runs, cand_runs, rows, threshold, alpha, min_runs,
                    [[base_runs[i].run_id, cand_runs[j].run_id] for i, j in pairs],
                    "FAIL = runs paired with their neighbour in time; one-sided t-test over the paired "
                    "differences relative to the baseline's median p <= alpha, and their mean worse "
                    "than the threshold")


def _verdict(base_runs, cand_runs, rows, threshold, alpha, min_runs, pairs, test):
    status = "PASS"
    problems = []
    if len(base_runs) < min_runs or len(cand_runs) < min_runs:
        status = "ERROR"
        problems.append(f"{len(base_runs)} baseline and {len(cand_runs)} candidate runs; "
                        f"at least {min_runs} a side are needed")
    elif any(r["status"] == "FAIL" for r in rows):
        status = "FAIL"

    def side(runs):
        return {"runs": [r.run_id for r in runs], "dirs": [r.path for r in runs],
                "scenarios": sorted({r.scenario for r in runs}),
                "kernels": sorted({r.kernel for r in runs})}

    doc = {"schema": VERDICT_SCHEMA, "status": status, "threshold": threshold, "alpha": alpha,
           "min_runs": min_runs, "test": test, "design": "paired" if pairs is not None else "unpaired",
           "problems": problems, "base": side(base_runs), "candidate": side(cand_runs),
           "regressions": [r["name"] for r in rows if r["status"] == "FAIL"], "metrics": rows}
    if pairs is not None:
        doc["pairs"] = pairs
    return doc


def compare_dirs(base_dir, cand_dir, threshold=0.10, alpha=0.05, min_runs=3):
    """Load the run directories under BASE_DIR and CAND_DIR (one scenario) and
    compare them: returns (verdict, base_runs, cand_runs)."""
    sides = []
    for d in (base_dir, cand_dir):
        dirs = find_runs(d)
        if not dirs:
            raise InputError(d, "no run directories here (a run directory holds the tools' .json/.jsonl)")
        sides.append([load_run(x) for x in dirs])
    base_runs, cand_runs = sides
    bs = {r.scenario for r in base_runs}
    cs = {r.scenario for r in cand_runs}
    if len(bs) > 1 or len(cs) > 1 or bs != cs:
        raise InputError(cand_dir, f"scenarios differ: baseline {sorted(bs)}, candidate {sorted(cs)}; "
                         "compare runs of one scenario")
    return compare_runs(base_runs, cand_runs, threshold, alpha, min_runs), base_runs, cand_runs
