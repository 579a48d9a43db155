# SPDX-License-Identifier: GPL-2.0
"""`dashboard STORE_DIR OUT_DIR`: a static trend site over many runs.

STORE_DIR holds run directories up to three levels down: the results store
of `make regress`, ``store/<scenario>/<kernel release>/<run-id>/``, as well
as ``store/<scenario>/<run-id>/`` or ``store/<run-id>/``; a directory with
results is a run and is not searched further. Runs are grouped by scenario
(the one their result names, not the directory's); within a scenario, by
kernel release (the kernel's hash where a run names no release), in the
order the kernels were first seen. Each kernel's runs are compared with the
previous kernel's runs exactly as `compare` does; a kernel whose verdict is
FAIL is marked as a regression on the trend plots and in the tables. Every
run links to its report (the run's own report.html, or one rendered into
OUT_DIR/runs/ and kept while the run is unchanged).

OUT_DIR/index.html lists the scenarios; OUT_DIR/<scenario>.html has the trend
plots; OUT_DIR/dashboard.json holds the same data for machines.
"""

import os
import re
import shutil
import sys

import numpy as np

from . import htmlpage as H
from .compare import clean_json, compare_runs
from .errors import InputError
from .jsonio import write_json, write_text
from .runs import has_results, load_run
from .report import write_report
from .summary import fmt_ns, run_metrics

TREND_METRICS = ("latency_p50", "latency_p99", "success_rate")


STORE_DEPTH = 3     # store/<scenario>/<kernel release>/<run-id>/


def _run_dirs(store, depth=STORE_DEPTH):
    """Run directories under STORE, at most DEPTH levels down, sorted by path."""
    if not os.path.isdir(store):
        raise InputError(store, "no such directory" if not os.path.exists(store) else "not a directory")
    out = []

    def walk(d, level):
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return
        for name in names:
            p = os.path.join(d, name)
            if not os.path.isdir(p):
                continue
            if has_results(p):
                out.append(p)
            elif level < depth:
                walk(p, level + 1)

    walk(store, 1)
    return out


def kernel_label(run):
    """What a run's kernel is called on the dashboard: its release string
    (6.1.192-cmakit-<hash>), else the series hash."""
    return run.kernel if run.kernel != "unknown" else run.kernel_hash


def _short(label):
    """A release without its version, for tick labels: cmakit-ab12cd34ef56."""
    m = re.match(r"^\d+\.\d+(?:\.\d+)?-(.+)$", label)
    return m.group(1) if m else label


def _fresh(dest, run_dir):
    """DEST exists and is newer than every file of RUN_DIR."""
    try:
        t = os.path.getmtime(dest)
        return all(os.path.getmtime(os.path.join(run_dir, n)) <= t for n in os.listdir(run_dir)
                   if os.path.isfile(os.path.join(run_dir, n)))
    except OSError:
        return False


def _slug(s):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s) or "_"


def _trend_plot(scenario, runs, metrics, kernels, verdicts):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(TREND_METRICS), 1, figsize=(12, 2.6 * len(TREND_METRICS)), sharex=True,
                             squeeze=False)
    x = np.arange(len(runs))
    colors = plt.get_cmap("tab10").colors
    kidx = {k: i for i, k in enumerate(kernels)}
    for ax, name in zip(axes[:, 0], TREND_METRICS):
        y = np.array([m.get(name, np.nan) for m in metrics])
        if name.startswith("latency"):
            y = y / 1e3
        col = [colors[kidx[kernel_label(r)] % len(colors)] for r in runs]
        ax.plot(x, y, color="#999999", linewidth=0.8, zorder=1)
        ax.scatter(x, y, c=col, s=28, zorder=2)
        bad = np.array([verdicts.get(kernel_label(r), {}).get("status") == "FAIL"
                        and name in verdicts[kernel_label(r)]["regressions"] for r in runs])
        if bad.any():
            ax.scatter(x[bad], y[bad], s=140, facecolors="none", edgecolors="red", linewidths=2,
                       zorder=3, label="regression vs the previous kernel")
            ax.legend(fontsize=8, loc="upper left")
        ax.set_ylabel({"latency_p50": "p50 (us)", "latency_p99": "p99 (us)",
                       "success_rate": "success"}.get(name, name))
        if name.startswith("latency") and np.nanmin(y) > 0:
            ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    # kernel boundaries and labels
    for ax in axes[:, 0]:
        for i in range(1, len(runs)):
            if kernel_label(runs[i]) != kernel_label(runs[i - 1]):
                ax.axvline(i - 0.5, color="#bbbbbb", linestyle="--", linewidth=0.8)
    axes[-1, 0].set_xticks(x)
    axes[-1, 0].set_xticklabels([_short(kernel_label(r)) for r in runs], rotation=60, fontsize=7, ha="right")
    axes[-1, 0].set_xlabel("runs in time order (kernel release)")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colors[kidx[k] % len(colors)], label=k)
               for k in kernels]
    axes[0, 0].legend(handles=handles, fontsize=7, loc="upper right", title="kernel", title_fontsize=7)
    axes[0, 0].set_title(f"{scenario}: trends per run, colour = kernel")
    fig.tight_layout()
    return H.fig_uri(fig)


def build_dashboard(store, out, threshold=0.10, alpha=0.05, reports=True, min_runs=3):
    dirs = _run_dirs(store)
    if not dirs:
        raise InputError(store, "no run directories here")
    os.makedirs(out, exist_ok=True)
    runs = []
    skipped = []
    for d in dirs:
        # a store collects everything under results/: directories that are not
        # runs of a scenario (benchmark scratch, broken runs) are listed, not fatal
        try:
            r = load_run(d, warn=lambda msg: None)
        except InputError as e:
            skipped.append((d, e.problem if e.path == d else f"{os.path.basename(e.path)}: {e.problem}"))
            continue
        if r.alloc_source is None:
            skipped.append((d, "no allocation records (cmabench result or cmatrace JSONL)"))
            continue
        runs.append(r)
    for d, why in skipped:
        print(f"analysis: note: {d}: not a run, skipped ({why})", file=sys.stderr)
    if not runs:
        raise InputError(store, "no run directories with allocation records here")
    by_scen = {}
    for r in runs:
        by_scen.setdefault(r.scenario, []).append(r)
    data = {"schema": "cmakit.dashboard/1.1", "skipped": [[d, w] for d, w in skipped], "threshold": threshold, "alpha": alpha, "scenarios": {}}
    index_rows = []
    for scen in sorted(by_scen):
        rs = sorted(by_scen[scen], key=lambda r: (r.started, r.run_id))
        kernels = []
        for r in rs:
            if kernel_label(r) not in kernels:
                kernels.append(kernel_label(r))
        groups = {k: [r for r in rs if kernel_label(r) == k] for k in kernels}
        verdicts = {}
        for prev, cur in zip(kernels, kernels[1:]):
            v = compare_runs(groups[prev], groups[cur], threshold, alpha, min_runs)
            verdicts[cur] = {"status": v["status"], "against": prev, "regressions": v["regressions"],
                             "problems": v["problems"]}
        metrics = [run_metrics(r) for r in rs]
        links = []
        for r in rs:
            own = os.path.join(r.path, "report.html")
            # named by the path in the store: run ids need not be unique across scenarios
            dest = os.path.join(out, "runs", _slug(os.path.relpath(r.path, store)) + ".html")
            if os.path.isfile(own):
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(own, dest)
                links.append(os.path.relpath(dest, out))
            elif reports:
                if not _fresh(dest, r.path):
                    write_report(r, dest)
                links.append(os.path.relpath(dest, out))
            else:
                links.append(None)
        uri = _trend_plot(scen, rs, metrics, kernels, verdicts)
        krows = []
        for k in kernels:
            v = verdicts.get(k)
            st = v["status"] if v else "DONE"
            note = ""
            if v:
                note = (f"vs {v['against']}: " + (", ".join(v["regressions"]) or "no regression")
                        + ("; " + "; ".join(v["problems"]) if v["problems"] else ""))
            else:
                note = "first kernel: the baseline"
            krows.append((st, [k, len(groups[k]), st, note]))
        rrows = []
        for r, m, link in zip(rs, metrics, links):
            st = verdicts.get(kernel_label(r), {}).get("status", "DONE")
            cell = ("raw", f'<a href="{H.esc(link)}">{H.esc(r.run_id)}</a>') if link else r.run_id
            rrows.append((st if st == "FAIL" else "", [cell, kernel_label(r), int(m.get("allocations", 0)),
                                                       fmt_ns(m.get("latency_p50")), fmt_ns(m.get("latency_p99")),
                                                       "-" if "success_rate" not in m else f"{100 * m['success_rate']:.2f}%"]))
        body = [f"<h1>Scenario {H.esc(scen)}</h1>", '<p><a href="index.html">all scenarios</a></p>',
                H.img(uri, f"{scen} trends"), "<h2>Kernels</h2>",
                H.table(["kernel", "runs", "status", "verdict"], krows, left=1),
                "<h2>Runs</h2>",
                H.table(["run (report)", "kernel", "allocations", "p50", "p99", "success"], rrows, left=2)]
        page = f"{_slug(scen)}.html"
        with open(os.path.join(out, page), "w") as f:
            f.write(H.page(f"cmakit dashboard: {scen}", "\n".join(body)))
        worst = "FAIL" if any(v["status"] == "FAIL" for v in verdicts.values()) else "PASS"
        last = verdicts.get(kernels[-1], {}).get("status", "DONE")
        index_rows.append((last if last in ("FAIL", "ERROR") else "",
                           [("raw", f'<a href="{H.esc(page)}">{H.esc(scen)}</a>'), len(rs), len(kernels),
                            last, worst]))
        data["scenarios"][scen] = {
            "page": page, "kernels": kernels, "verdicts": verdicts,
            "runs": [{"run": r.run_id, "dir": os.path.relpath(r.path, store), "kernel": kernel_label(r),
                      "kernel_hash": r.kernel_hash, "started": r.started, "report": link,
                      "metrics": m} for r, m, link in zip(rs, metrics, links)]}
    body = ["<h1>cmakit dashboard</h1>",
            f'<p class="note">{len(runs)} runs from {H.esc(os.path.basename(os.path.normpath(store)))}; '
            f"a kernel is compared with the kernel before it (threshold {100 * threshold:.0f}%, "
            f"alpha {alpha}).</p>",
            H.table(["scenario", "runs", "kernels", "newest kernel", "any regression"], index_rows, left=1)]
    if skipped:
        body.append("<h2>Not read</h2>")
        body.append(H.table(["directory", "why"], [[os.path.relpath(d, store), why] for d, why in skipped], left=2))
    index = os.path.join(out, "index.html")
    write_text(index, H.page("cmakit dashboard", "\n".join(body)))
    write_json(os.path.join(out, "dashboard.json"), clean_json(data), allow_nan=False)
    return index
