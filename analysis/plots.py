# SPDX-License-Identifier: GPL-2.0
"""The report's figures. Each view function takes what it draws from (the
allocation table, the area map, ...) and returns ``(uri, None)`` with a PNG
data: URI, or ``(None, why)`` with one sentence saying why the run has
nothing to draw for it: a view without data is a sentence, never an empty
axis. Large runs are drawn as densities (2-D histograms) instead of one
marker per allocation, so a million records render in about the time of a
thousand.
"""

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
import matplotlib.pyplot as plt

from .htmlpage import fig_uri
from .summary import fmt_ns, phase_means, size_classes, size_label
from .table import PAGE_SIZE, PHASES

SCATTER_MAX = 20000
COLORS = plt.get_cmap("tab10").colors
US = "\u00b5s"
# the share of the area below which occupancy counts as "no spread"
FLAT = 0.01
MOVABLE = ("anon", "shmem", "file", "other")


def _png(fig):
    """The view's result: its figure laid out and rendered once."""
    fig.tight_layout()
    return fig_uri(fig, tight=False), None


def _lat_axis(ax, lat_us, which="y"):
    """Label a log latency axis (data in microseconds) with its unit, in ms
    when the latencies reach 10 ms, ticks at 1-2-5 as plain numbers."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    log = axis.get_scale() == "log"     # else a density's log10 data, 10^k labels
    ms = log and np.nanmax(lat_us, initial=0) >= 1e4
    div = 1e3 if ms else 1.0
    (ax.set_ylabel if which == "y" else ax.set_xlabel)(f"latency ({'ms' if ms else US}, log)")
    if not log:
        return
    _plain_log(axis, div)


def _plain_log(axis, div=1.0):
    """Ticks of a log axis at 1-2-5 as plain numbers (divided by DIV)."""
    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 3, 5)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v / div:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _log_bins(lo, hi, n=60):
    lo = max(lo, 1.0)
    hi = max(hi, lo * 2)
    return np.logspace(np.log10(lo), np.log10(hi), n)


def _us(ns):
    return ns / 1e3


def _n(k, what):
    return f"{k} {what}" + ("" if k == 1 else "s")


def latency_cdf_hist(t):
    ok = t.ok & np.isfinite(t.latency_ns)
    if not len(t):
        return None, "The run made no requests, so there is no latency to draw."
    if not ok.any():
        return None, f"No request succeeded ({_n(int(t.failed.sum()), 'failure')}), so there is no latency to draw."
    if ok.sum() == 1:
        i = int(np.flatnonzero(ok)[0])
        return None, (f"Only one request succeeded ({size_label(t.size[i])} in {fmt_ns(t.latency_ns[i])}); "
                      "one value makes no distribution.")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    lat_all = _us(t.latency_ns[ok])
    bins = _log_bins(lat_all.min() * 0.9, lat_all.max() * 1.1)
    hmax = 0
    for i, s in enumerate(size_classes(t)):
        lat = np.sort(_us(t.latency_ns[ok & (t.size == s)]))
        if not len(lat):
            continue
        c = COLORS[i % len(COLORS)]
        # the empirical CDF, at most 2000 steps: exact shape, bounded drawing cost
        if len(lat) <= 2000:
            x, q = lat, np.arange(1, len(lat) + 1) / len(lat)
        else:
            q = np.linspace(1 / 2000, 1, 2000)
            x = np.quantile(lat, q)
        a1.plot(np.concatenate(([x[0]], x)), np.concatenate(([0], q)) * 100, color=c, drawstyle="steps-post",
                label=f"{size_label(s)} (n={len(lat)})")
        h, _ = np.histogram(lat, bins=bins)
        hmax = max(hmax, int(h.max()))
        a2.step(bins[:-1], h, where="post", color=c, label=size_label(s))
    a1.set_xscale("log")
    _lat_axis(a1, lat_all, "x")
    a1.set_ylabel("requests at or below (%)")
    a1.set_ylim(0, 101)
    a1.set_title("Latency CDF per request size (successful requests)")
    a1.grid(True, which="both", alpha=0.3)
    a1.legend(fontsize=8)
    a2.set_xscale("log")
    if hmax > 50:
        a2.set_yscale("log")
        a2.set_ylabel("requests (log)")
    else:
        a2.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        a2.set_ylabel("requests")
    _lat_axis(a2, lat_all, "x")
    a2.set_title("Latency histogram per request size")
    a2.grid(True, which="both", alpha=0.3)
    a2.legend(fontsize=8)
    return _png(fig)


def outcomes(t, by_errno):
    """Success rate per size and the failures by errno; only when something failed."""
    if not len(t):
        return None, "The run made no requests."
    if not t.failed.any():
        ok = int(t.ok.sum())
        done = f"all {ok} of {len(t)} succeeded" if ok == len(t) else \
            f"{ok} of {len(t)} succeeded, the others did not finish"
        return None, f"No request failed ({done}), so there is nothing to attribute."
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    rows = size_classes(t)
    rates = [100.0 * (t.ok & (t.size == s)).sum() / max((t.size == s).sum(), 1) for s in rows]
    labels = [size_label(s) for s in rows]
    axes[0].bar(labels, rates, color="#4c9a2a")
    axes[0].set_ylim(0, 110)
    axes[0].set_ylabel("requests that succeeded (%)")
    axes[0].set_title("Success rate per request size")
    for i, r in enumerate(rates):
        axes[0].text(i, r + 1.5, f"{r:.1f}", ha="center", fontsize=8)
    axes[1].barh([d[0] for d in by_errno][::-1], [d[1] for d in by_errno][::-1], color="#c0392b")
    axes[1].set_xlabel("failed requests")
    axes[1].xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes[1].set_title("Failures by errno")
    return _png(fig)


def blocking(t, by_reason, why_unnamed):
    """The failures by the blocking page's reason and by what that page held.
    WHY_UNNAMED: the sentence for failures that no source names a page for."""
    nf = int(t.failed.sum()) if len(t) else 0
    if not nf:
        return None, "No request failed, so no page blocked one."
    named = [(k, v) for k, v in by_reason if k not in ("unknown", "none")]
    if not named:
        return None, why_unnamed
    kinds = []
    if "block_kind" in t:
        from .sources import BLOCK_KINDS
        bk = t.block_kind[t.failed]
        kinds = [(BLOCK_KINDS[i], int((bk == i).sum())) for i in range(len(BLOCK_KINDS)) if (bk == i).any()]
        if (bk < 0).any() and kinds:
            kinds.append(("not named", int((bk < 0).sum())))
    fig, axes = plt.subplots(1, 2 if kinds else 1, figsize=(12 if kinds else 7, 3.6), squeeze=False)
    a = axes[0, 0]
    a.barh([d[0] for d in by_reason][::-1], [d[1] for d in by_reason][::-1], color="#d35400")
    a.set_xlabel("failed requests")
    a.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    a.set_title("Failures by why the blocking page could not move")
    if kinds:
        a = axes[0, 1]
        a.barh([d[0] for d in kinds][::-1], [d[1] for d in kinds][::-1], color="#8e44ad")
        a.set_xlabel("failed requests")
        a.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        a.set_title("Failures by what the blocking page held")
    return _png(fig)


def _density(ax, x, y, xbins, ybins, logx=False, cmap="Blues"):
    """A 2-D histogram drawn as one image. Log axes are drawn as log10 data on
    linear axes with 10^k tick labels (one image instead of thousands of
    transformed quads); returns the function that maps data to the axes."""
    fx = np.log10 if logx else (lambda v: v)
    xe = fx(np.asarray(xbins, dtype=float))
    ye = np.log10(np.asarray(ybins, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        h, _, _ = np.histogram2d(fx(x), np.log10(y), bins=[xe, ye])
    ax.imshow(np.ma.masked_equal(h.T, 0), origin="lower", aspect="auto", cmap=cmap, interpolation="nearest",
              extent=(xe[0], xe[-1], ye[0], ye[-1]), norm=mcolors.LogNorm(vmin=1, vmax=max(h.max(), 2)))
    pow10 = ticker.FuncFormatter(lambda v, _: f"$10^{{{v:g}}}$")
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(pow10)
    if logx:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(pow10)
    return lambda xs, ys: (fx(np.asarray(xs, dtype=float)), np.log10(np.asarray(ys, dtype=float)))


def _percent_axis(ax, label):
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(decimals=0))
    ax.set_xlabel(label)


def _scatter_by_size(ax, t, x, lat, ok, bad, xbins):
    """Latency (y, log) against X (0-100 %) per request size, failures as red crosses."""
    fin = ok | bad
    if fin.sum() > SCATTER_MAX:
        ybins = _log_bins(lat[fin].min() * 0.9, lat[fin].max() * 1.1, 50)
        to = _density(ax, x[ok], lat[ok], xbins, ybins)
        sel = np.flatnonzero(bad)[:SCATTER_MAX]
        if len(sel):
            ax.scatter(*to(x[sel], lat[sel]), s=4, color="red", marker="x", label="failed")
        return
    ax.set_yscale("log")
    for i, s in enumerate(size_classes(t)):
        m = ok & (t.size == s)
        if m.any():
            ax.scatter(x[m], lat[m], s=8, alpha=0.6, color=COLORS[i % len(COLORS)], label=size_label(s))
    if bad.any():
        ax.scatter(x[bad], lat[bad], s=16, color="red", marker="x", label="failed")


def _no_occupancy(t, source):
    if not len(t):
        return "The run made no requests."
    if source != "cmabench":
        return ("The requests come from the trace alone, which does not know the area's occupancy "
                "(cmabench's result.json does).")
    return ("cmabench's records carry no area occupancy: it reads it from /proc/kpageflags, "
            "which this run could not.")


def latency_vs_occupancy(t, source="cmabench"):
    if not t.has("occupancy"):
        return None, _no_occupancy(t, source)
    fin = t.finished & np.isfinite(t.latency_ns) & np.isfinite(t.occupancy)
    if fin.sum() < 2:
        return None, ("Only one request finished with a known occupancy; one point shows no relation."
                      if fin.any() else "No request with a known occupancy finished.")
    occ = t.occupancy[fin]
    if occ.max() - occ.min() < FLAT:
        return None, (f"The area was {100 * float(np.median(occ)):.1f} % occupied before every request, "
                      "so latency cannot be set against occupancy.")
    fig, ax = plt.subplots(figsize=(10, 4.2))
    _scatter_by_size(ax, t, t.occupancy * 100, _us(t.latency_ns), fin & t.ok, fin & t.failed,
                     np.linspace(0, 100, 51))
    _percent_axis(ax, "area holding movable data just before the request (%)")
    _lat_axis(ax, _us(t.latency_ns[fin]))
    ax.set_title("Latency against area occupancy")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, markerscale=2)
    return _png(fig)


def page_mix(t, source="cmabench"):
    """One panel per movable page kind: latency against that kind's share of
    the area before the request. Points only: neighbours are unrelated requests."""
    kinds = [k for k in MOVABLE if t.has("mix_" + k)]
    if not kinds:
        return None, _no_occupancy(t, source)
    fin = t.finished & np.isfinite(t.latency_ns)
    shown = [k for k in kinds if np.nanmax(t["mix_" + k][fin], initial=0) >= FLAT / 10]
    if fin.sum() < 2:
        return None, "Fewer than two requests finished; a page mix of one point shows no relation."
    if not shown:
        return None, ("The area held no movable pages (anon, shmem, file or other) before any request, "
                      "so there is no page mix to set latency against.")
    fig, axes = plt.subplots(1, len(shown), figsize=(max(3.4 * len(shown) + 1.5, 9), 3.8), squeeze=False,
                             sharey=True)
    lat = _us(t.latency_ns)
    for ax, k in zip(axes[0], shown):
        share = t["mix_" + k] * 100
        m = fin & np.isfinite(share)
        _scatter_by_size(ax, t, share, lat, m & t.ok, m & t.failed, np.linspace(0, 100, 26))
        _percent_axis(ax, f"area held by {k} pages (%)")
        ax.set_title(k)
        ax.grid(True, alpha=0.3)
    for ax in axes[0]:
        _lat_axis(ax, lat[fin])
        if ax is not axes[0, 0]:
            ax.set_ylabel("")
    axes[0, -1].legend(fontsize=8, markerscale=2)
    fig.suptitle("Latency against the page mix of the area just before the request")
    return _png(fig)


def timeline(t):
    fin = t.finished & np.isfinite(t.latency_ns) & np.isfinite(t.t_ns)
    if fin.sum() < 2:
        return None, ("Only one request finished, so there is no course over time to draw."
                      if fin.any() else "No request finished, so there is no course over time to draw.")
    fig, ax = plt.subplots(figsize=(12, 3.8))
    x = t.t_ns / 1e9
    lat = _us(t.latency_ns)
    ok = fin & t.ok
    bad = fin & t.failed
    to = lambda xs, ys: (xs, ys)  # noqa: E731
    if fin.sum() > SCATTER_MAX:
        ybins = _log_bins(lat[fin].min() * 0.9, lat[fin].max() * 1.1, 50)
        to = _density(ax, x[ok], lat[ok], np.linspace(x[fin].min(), x[fin].max() + 1e-9, 200), ybins)
        sel = np.flatnonzero(bad)
        if len(sel) > SCATTER_MAX:
            sel = sel[np.linspace(0, len(sel) - 1, SCATTER_MAX).astype(np.int64)]
    else:
        ax.set_yscale("log")
        ax.scatter(x[ok], lat[ok], s=6, color="#1f77b4", label=f"ok ({int(ok.sum())})")
        sel = np.flatnonzero(bad)
    if len(sel):
        ax.scatter(*to(x[sel], lat[sel]), s=18, color="red", marker="x", label=f"failed ({int(bad.sum())})")
    unf = t.status == 2
    if unf.any() and np.isfinite(t.t_ns[unf]).any():
        ax.scatter(*to(x[unf], np.full(int(unf.sum()), lat[fin].max())), s=16, color="black",
                   marker="|", label=f"unfinished ({int(unf.sum())})")
    ax.set_xlabel("time since the first request (s)")
    _lat_axis(ax, lat[fin])
    ax.set_title("Requests over time (failures marked)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


MAP_COLORS = {"free": "#f2f2f2", "cma": "#2ca02c", "anon": "#1f77b4", "shmem": "#9467bd",
              "file": "#ff7f0e", "other": "#7f7f7f"}
WHEN_LABEL = {"first": "first request", "first_failure": "first failure", "last": "last request"}


def range_mix(amap, m):
    """{kind: pages} of the range map M's request got, or None."""
    if not m["range"]:
        return None
    pfn, pages = m["range"]
    off = pfn - amap["base_pfn"]
    counts = np.bincount(m["kinds"][off:off + pages], minlength=len(amap["names"]))
    return {amap["names"][i]: int(c) for i, c in enumerate(counts) if c}


def mix_text(mix):
    total = sum(mix.values()) or 1
    return ", ".join(f"{100 * v / total:.0f} % {k}" for k, v in sorted(mix.items(), key=lambda kv: -kv[1]))


def area_map(amap, why_none, blocked=None):
    """One strip per snapshot of the area, each page coloured by its kind; the
    request's range (or, for a failure, the pfn that blocked it) marked above.
    BLOCKED: {request index: pfn} from the joined trace."""
    if amap is None:
        return None, why_none
    maps = amap["maps"]
    if not maps:
        return None, "The area map holds no snapshot (cmabench took none: no request was made)."
    names = amap["names"]
    blocked = blocked or {}
    base, pages = amap["base_pfn"], amap["pages"]
    colors = [MAP_COLORS.get(n, COLORS[i % len(COLORS)]) for i, n in enumerate(names)]
    cmap = mcolors.ListedColormap(colors)
    fig, axes = plt.subplots(len(maps), 1, figsize=(12, 1.25 * len(maps) + 1.0), squeeze=False)
    cols = min(pages, 1200)
    for ax, m in zip(axes[:, 0], maps):
        row = m["kinds"]
        # each column shows the kind most of its pages hold
        idx = np.arange(len(row)) * cols // max(len(row), 1)
        counts = np.zeros((cols, len(names)), dtype=np.int64)
        np.add.at(counts, (idx, row.astype(np.int64)), 1)
        ax.imshow(counts.argmax(axis=1)[None, :], aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5,
                  interpolation="nearest", extent=(base, base + pages, 0, 1))
        ax.set_ylim(0, 1.45)
        ax.set_yticks([])
        label = f"{WHEN_LABEL[m['when']]}\n#{m['request']}, {size_label(m['pages_requested'])}, " \
                f"{'ok' if m['ok'] else m['errno'] or 'failed'}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
        ticks = np.linspace(base, base + pages, 9)
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{int(v):#x}" for v in ticks] if ax is axes[-1, 0] else [])
        for s in ("top", "right", "left"):
            ax.spines[s].set_visible(False)
        minw = pages / 300    # a small range stays visible
        if m["range"]:
            pfn, n = m["range"]
            w = max(n, minw)
            ax.add_patch(plt.Rectangle((pfn + n / 2 - w / 2, 1.05), w, 0.3, color="black"))
            ax.text(pfn + n / 2, 1.42, f"got {n} pages at {pfn:#x}: {mix_text(range_mix(amap, m))}",
                    ha="center" if 0.2 < (pfn - base) / pages < 0.8 else ("left" if pfn - base < pages / 2 else "right"),
                    va="bottom", fontsize=8)
        elif m["request"] in blocked:
            pfn = blocked[m["request"]]
            ax.add_patch(plt.Rectangle((pfn - minw / 2, 1.05), minw, 0.3, color="red"))
            ax.text(pfn, 1.42, f"blocked at {pfn:#x} (the trace's busy page; the range tried is not reported)",
                    ha="center" if 0.2 < (pfn - base) / pages < 0.8 else ("left" if pfn - base < pages / 2 else "right"),
                    va="bottom", fontsize=8, color="red")
        else:
            ax.text(base + pages / 2, 1.42, "range not known" + (
                    " (no backend reports the range a failed request tried)" if not m["ok"] else ""),
                    ha="center", va="bottom", fontsize=8, color="#666666")
    axes[-1, 0].set_xlabel("pfn")
    axes[0, 0].set_title(f"CMA area {amap['area']}: the kind of every page just before the request",
                         pad=22)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colors[i], edgecolor="black", linewidth=0.5)
               for i in range(len(names))]
    fig.tight_layout()
    fig.legend(handles, names, loc="upper center", ncol=len(names), fontsize=8, bbox_to_anchor=(0.5, 0.0))
    return fig_uri(fig), None


def phases(t, why_none):
    rows = phase_means(t)
    if not rows:
        return None, why_none
    fig, ax = plt.subplots(figsize=(10, 3.8))
    labels = [r["label"] for r in rows]
    bottom = np.zeros(len(rows))
    unit, div = ("ms", 1e6) if max(r["total"] for r in rows) >= 1e6 else (US, 1e3)
    for i, p in enumerate(list(PHASES) + ["other"]):
        v = np.array([r[p] for r in rows]) / div
        ax.bar(labels, v, bottom=bottom, label=p, color=COLORS[i % len(COLORS)] if p != "other" else "#cccccc")
        bottom += v
    ax.set_ylabel(f"mean time per request ({unit})")
    ax.set_title("Phase breakdown of alloc_contig_range (isolate, drain, migrate, test)")
    ax.legend(fontsize=8)
    return _png(fig)


def copy_floor_plot(t, bw):
    if not bw:
        return None, ("No copy bandwidth was measured in this run (analysis.board copybw on the board), "
                      "so there is no floor to compare with.")
    ok = t.ok & np.isfinite(t.latency_ns)
    if not ok.any():
        return None, "No request succeeded, so there is no latency to set against the copy floor."
    mib = t.size * PAGE_SIZE / 2 ** 20
    lat = t.latency_ns / 1e6
    if t.has("migrated") and (np.nan_to_num(t.migrated[ok]) > 0).any():
        x = t.migrated * PAGE_SIZE / 2 ** 20
        xlabel = "MiB migrated for the request (log)"
        what = "the bytes migrated"
    else:
        x = mib
        xlabel = "MiB requested (log)" + (": nothing was migrated" if t.has("migrated") else "")
        what = "the bytes requested"
    good = ok & (x > 0)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    to = lambda xs, ys: (xs, ys)  # noqa: E731
    if good.sum() > SCATTER_MAX:
        xb = np.logspace(np.log10(x[good].min() * 0.9), np.log10(x[good].max() * 1.1), 60)
        yb = np.logspace(np.log10(lat[good].min() * 0.9), np.log10(lat[good].max() * 1.1), 50)
        to = _density(ax, x[good], lat[good], xb, yb, logx=True)
    else:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.scatter(x[good], lat[good], s=6, alpha=0.6, label=f"requests ({int(good.sum())})")
        _plain_log(ax.xaxis)
        _plain_log(ax.yaxis)
    lo, hi = x[good].min(), x[good].max()
    if hi <= lo:
        lo, hi = lo / 2, hi * 2
    xs = np.logspace(np.log10(lo), np.log10(hi), 50)
    ax.plot(*to(xs, xs * 2 ** 20 / bw * 1e3), color="black", linewidth=2,
            label=f"memcpy of {what} ({bw / 1e6:.0f} MB/s measured)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("latency (ms, log)")
    ax.set_title("Latency against the copy floor (the same bytes through memcpy on this board)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def bpf_histograms(doc):
    """cmalat's kernel-side log2 latency histograms: one line per size class and errno."""
    if not doc:
        return None, ("This run has no BPF document (bpf.json): the BPF collectors were not built "
                      "or did not run.")
    lat = doc.get("cmalat") if isinstance(doc, dict) else None
    hists = lat.get("histograms") if isinstance(lat, dict) else None
    if not hists:
        return None, "The BPF document has no cmalat latency histograms."
    unit = lat.get("unit", "us")
    fig, ax = plt.subplots(figsize=(12, 3.8))
    drawn = 0
    for i, h in enumerate(hists):
        slots = h.get("slots") or []
        try:
            arr = np.array(slots, dtype=float).reshape(-1, 3)
        except ValueError:
            continue
        if not len(arr):
            continue
        x = np.sqrt(np.maximum(arr[:, 0], 0.5) * np.maximum(arr[:, 1], 1))
        pages = h.get("pages_min")
        label = f"{size_label(pages) if pages else 'class ' + str(h.get('size_class'))} {h.get('error', '')}".strip()
        ax.plot(x, arr[:, 2], marker="o", color=COLORS[i % len(COLORS)], label=f"{label} (n={h.get('count')})")
        drawn += 1
    if not drawn:
        plt.close(fig)
        return None, "The BPF document's cmalat histograms hold no samples."
    ax.set_xscale("log")
    ax.set_xlabel(f"latency ({US if unit == 'us' else unit}, log2 slots)")
    ax.set_ylabel("requests in the slot")
    ax.set_title("Kernel-side latency histograms (BPF cmalat)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def compare_figures(verdict, base_runs, cand_runs):
    """The compare page's figures (PNG data: URIs): the per-run value of every
    latency metric, and the latency CDF of every run of both sides."""
    rows = [r for r in verdict["metrics"] if r["unit"] == "ns" and r["status"] in ("PASS", "FAIL")]
    rows = rows[:12]
    uris = []
    if rows:
        fig, ax = plt.subplots(figsize=(12, 0.45 * len(rows) + 1.2))
        for i, r in enumerate(rows):
            b = np.array(r["base"]["values"]) / 1e3
            c = np.array(r["candidate"]["values"]) / 1e3
            ax.scatter(b, np.full(len(b), i + 0.12), color="#1f77b4", marker="o", label="baseline" if i == 0 else None)
            ax.scatter(c, np.full(len(c), i - 0.12), color="#d62728" if r["status"] == "FAIL" else "#ff7f0e",
                       marker="s", label="candidate" if i == 0 else None)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r["name"] for r in rows], fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("per-run value (us, log)")
        ax.set_title("Latency metrics, one point per run (red: regression)")
        ax.grid(True, axis="x", which="both", alpha=0.3)
        ax.legend(fontsize=8)
        uris.append(fig_uri(fig))
    lat_b = [r.allocs.latency_ns[r.allocs.ok] for r in base_runs]
    lat_c = [r.allocs.latency_ns[r.allocs.ok] for r in cand_runs]
    if sum(len(x) for x in lat_b) and sum(len(x) for x in lat_c):
        fig, ax = plt.subplots(figsize=(12, 4))
        for lats, col, lab in ((lat_b, "#1f77b4", "baseline"), (lat_c, "#d62728", "candidate")):
            for j, lat in enumerate(lats):
                lat = lat[np.isfinite(lat)]
                if not len(lat):
                    continue
                q = np.linspace(0, 1, min(len(lat), 1000))
                ax.plot(np.quantile(lat, q) / 1e3, q * 100, color=col, alpha=0.7,
                        label=lab if j == 0 else None)
        ax.set_xscale("log")
        ax.set_xlabel("latency (us, log)")
        ax.set_ylabel("allocations at or below (%)")
        ax.set_title("Latency CDF of every run (all request sizes)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        uris.append(fig_uri(fig))
    return uris
