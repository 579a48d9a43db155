# SPDX-License-Identifier: GPL-2.0
"""The report: one self-contained page with every view, numbers that match the
records, a text summary, and for every view: a run with its data shows the
figure and a caption, a run without it shows one sentence saying why."""

import base64
import json
import re

import numpy as np
import pytest

from conftest import cli
from analysis import plots
from analysis.runs import load_run
from analysis.report import html_report
from analysis.tests.synth import write_run

VIEWS = ("latency", "failures", "blocking", "occupancy", "pagemix", "timeline", "areamap", "phases",
         "copyfloor", "bpf")


def _images(html):
    return re.findall(r'<img src="([^"]+)"', html)


def _sections(html):
    """{view id: section html}"""
    return dict(re.findall(r'<section class="view" id="view-([a-z]+)">(.*?)</section>', html, re.S))


def _report(run_dir):
    r = cli("report", run_dir)
    assert r.returncode == 0, r.stderr
    return _sections((run_dir / "report.html").read_text())


def _shows_image(sec):
    imgs = _images(sec)
    assert len(imgs) == 1 and 'class="caption"' in sec and 'class="nodata"' not in sec, sec[:300]
    png = base64.b64decode(imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def _shows_sentence(sec, words):
    assert not _images(sec), "a view without data draws no figure"
    m = re.search(r'<p class="nodata">([^<]+)</p>', sec)
    assert m, sec[:300]
    text = m.group(1)
    assert words in text, text
    assert text.endswith(".") and text.count(". ") == 0, f"one sentence: {text}"


def test_report_is_self_contained(small_run):
    r = cli("report", small_run)
    assert r.returncode == 0, r.stderr
    html = (small_run / "report.html").read_text()
    imgs = _images(html)
    assert len(imgs) == len(VIEWS), len(imgs)
    for uri in imgs:
        assert uri.startswith("data:image/png;base64,")
    assert not re.search(r'(src|href)="(https?:|//|/)', html), "no external references"
    assert "<script" not in html
    secs = _sections(html)
    assert list(secs) == ["glance"] + list(VIEWS)
    for v in VIEWS:
        _shows_image(secs[v])


def test_glance_opens_with_the_three_numbers(small_run):
    """Success rate, median and worst latency per size, the worst latency's
    cause (the dominant phase and the pages moved, from the joined trace)."""
    secs = _report(small_run)
    body = (small_run / "report.html").read_text()
    assert body.index("<h1>") < body.index('id="view-glance"') < body.index("<img"), "the numbers come first"
    g = secs["glance"]
    recs = json.load(open(small_run / "result.json"))["allocations"]
    ok = [r for r in recs if r["ok"]]
    assert f"Success rate {100 * len(ok) / len(recs):.1f}%: {len(ok)} of {len(recs)} requests succeeded" in g
    from analysis.summary import fmt_ns
    for pages in sorted({r["pages"] for r in recs}):
        lat = np.array([r["user_ns"] for r in ok if r["pages"] == pages])
        assert f"<td>{fmt_ns(np.median(lat))}</td><td>{fmt_ns(lat.max())}</td>" in g, pages
    worst = max(range(len(recs)), key=lambda i: recs[i]["user_ns"] if recs[i]["ok"] else -1)
    trace = [json.loads(line) for line in open(small_run / "cmatrace.jsonl")]
    ph = trace[worst]["phases"]
    dom = max(("isolate", "drain", "migrate", "test"), key=lambda p: ph[p + "_ns"])
    share = 100 * ph[dom + "_ns"] / recs[worst]["user_ns"]
    assert f"Worst latency {fmt_ns(recs[worst]['user_ns'])}, request #{worst}" in g
    assert f"{share:.0f} % of it in {dom}" in g
    assert f"{trace[worst]['migrate']['migrated']} pages migrated" in g
    assert "% anon" in g, "the page kinds around it"
    b = trace[worst]["blocking"]
    if b:
        assert f"page at pfn {b['pfn']:#x} ({b['reason']}) made it retry" in g
    else:
        assert "made it retry" not in g


def test_glance_names_the_busy_page(small_run):
    """The worst request had to retry: the glance names the page that was busy."""
    p = small_run / "cmatrace.jsonl"
    recs = [json.loads(line) for line in p.read_text().splitlines()]
    res = json.load(open(small_run / "result.json"))["allocations"]
    worst = max(range(len(res)), key=lambda i: res[i]["user_ns"] if res[i]["ok"] else -1)
    recs[worst]["blocking"] = {"pfn": 0x41234, "source": "cma_busy_page", "stage": "migrate",
                               "reason": "writeback", "refcount": 2, "mapcount": 0, "migratetype": 4,
                               "flags": ["lru", "file", "writeback"]}
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    g = _report(small_run)["glance"]
    assert "a busy file page at pfn 0x41234 (writeback) made it retry" in g


def test_glance_without_success(tmp_path):
    write_run(tmp_path / "r", seed=3, n=20, fail_scale=1000)
    g = _report(tmp_path / "r")["glance"]
    assert "Success rate 0.0%: 0 of 20 requests succeeded" in g
    assert "no worst latency to explain" in g


# one run per missing piece of data: (synth arguments, files to remove)
VARIANTS = {
    "all_failed": (dict(fail_scale=1000), ()),
    "no_failures": (dict(fail_scale=0), ()),
    "no_occupancy": (dict(occupancy=False), ()),
    "one_request": (dict(n=1, fail_scale=0), ()),
    "stock": (dict(stock=True, fail_scale=3), ()),
    "no_trace": (dict(trace=False, fail_scale=3), ()),
    "no_files": (dict(), ("copybw.json", "bpf.json", "areamap.json")),
}


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    base = tmp_path_factory.mktemp("variants")
    out = {}
    for name, (kw, remove) in VARIANTS.items():
        d = base / name
        kw = dict(dict(seed=11, n=60), **kw)
        write_run(d, **kw)
        for f in remove:
            (d / f).unlink()
        out[name] = _sections(html_report(load_run(d)))
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    d = tmp_path_factory.mktemp("full") / "run"
    write_run(d, seed=11, n=60)
    return _sections(html_report(load_run(d)))


# view -> [(variant, the words its sentence must hold)]
WITHOUT = {
    "latency": [("all_failed", "No request succeeded"), ("one_request", "Only one request succeeded")],
    "failures": [("no_failures", "No request failed (all 60 of 60 succeeded), so there is nothing to attribute")],
    "blocking": [("no_failures", "No request failed, so no page blocked one"),
                 ("stock", "names no busy page (a stock kernel has no cma_busy_page event)"),
                 ("no_trace", "this run has no cmatrace records")],
    "occupancy": [("no_occupancy", "carry no area occupancy"), ("one_request", "Only one request finished")],
    "pagemix": [("no_occupancy", "carry no area occupancy"), ("one_request", "Fewer than two requests")],
    "timeline": [("one_request", "Only one request finished")],
    "areamap": [("no_occupancy", "it takes the map from its scan of /proc/kpageflags"),
                ("no_files", "cmabench wrote no area map")],
    "phases": [("stock", "no phase events"), ("no_trace", "no cmatrace records")],
    "copyfloor": [("no_files", "No copy bandwidth was measured"), ("all_failed", "No request succeeded")],
    "bpf": [("no_files", "no BPF document")],
}


@pytest.mark.parametrize("view", VIEWS)
def test_view_with_and_without_its_data(view, full, variants):
    _shows_image(full[view])
    for name, words in WITHOUT[view]:
        _shows_sentence(variants[name][view], words)


def test_empty_area_occupancy_is_a_sentence(small_run):
    """A run on an empty area (occupancy 0 before every request) draws no flat axis."""
    p = small_run / "result.json"
    doc = json.load(open(p))
    for r in doc["allocations"]:
        pages = r["occupancy"]["pages"]
        r["occupancy"]["used"] = 0.0
        free = sum(pages[k] for k in ("free", "cma", "anon", "shmem", "file", "other"))
        pages.update(free=free, anon=0, shmem=0, file=0, other=0, cma=0, mapped=0)
    json.dump(doc, open(p, "w"))
    secs = _report(small_run)
    _shows_sentence(secs["occupancy"], "The area was 0.0 % occupied before every request")
    _shows_sentence(secs["pagemix"], "The area held no movable pages")


def test_stock_kernel_run_says_what_is_unknown(tmp_path):
    """No phase events, no busy-page reasons: sentences, nothing silently zero."""
    d = write_run(tmp_path / "stock", seed=5, n=80, stock=True, fail_scale=3)
    run = load_run(d)
    assert run.joined and run.allocs.failed.any()
    assert not run.allocs.has("migrate_ns")
    secs = _report(tmp_path / "stock")
    assert "phases unknown (stock kernel: no phase events)" in secs["glance"]
    text = (tmp_path / "stock" / "summary.txt").read_text()
    assert "time in phases: unknown (stock kernel: no phase events)" in text
    assert "failures by blocking page: " in text and "names no busy page" in text
    assert not re.search(r"\b(isolate|migrate) 0%", text)
    # what the stock kernel does give is still drawn
    for v in ("latency", "failures", "occupancy", "pagemix", "timeline", "areamap", "copyfloor"):
        _shows_image(secs[v])


class _Figures:
    """Capture the matplotlib figures the views draw."""

    def __init__(self, monkeypatch):
        self.figs = []
        monkeypatch.setattr(plots, "fig_uri", self._keep)

    def _keep(self, fig, tight=True):
        self.figs.append(fig)
        return "data:image/png;base64,"


def test_axes_occupancy_percent_latency_units_no_joined_mix(monkeypatch, small_run):
    run = load_run(small_run)
    cap = _Figures(monkeypatch)
    assert plots.latency_vs_occupancy(run.allocs)[0]
    assert plots.page_mix(run.allocs)[0]
    occ_fig, mix_fig = cap.figs
    for fig in (occ_fig, mix_fig):
        for ax in fig.axes:
            assert ax.get_xlim() == (0, 100), ax.get_xlim()
            assert ax.get_yscale() == "log"
    for label in (occ_fig.axes[0].get_ylabel(), mix_fig.axes[0].get_ylabel()):
        assert label in ("latency (\u00b5s, log)", "latency (ms, log)"), label
    for ax in mix_fig.axes:
        assert not [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1], "page-mix points are not joined"
    for f in (plots.latency_cdf_hist(run.allocs), plots.timeline(run.allocs),
              plots.copy_floor_plot(run.allocs, run.copy_bw)):
        assert f[0]
    for fig in cap.figs[2:]:
        for ax in fig.axes:
            if ax.get_ylabel().startswith("latency") or ax.get_xlabel().startswith("latency"):
                label = ax.get_ylabel() + ax.get_xlabel()
                assert "\u00b5s" in label or "ms" in label, label


def test_area_map_marks_each_request(monkeypatch, small_run):
    """One strip per snapshot, the range the request got marked above it, a
    failure's blocking page (from the joined trace) marked in red."""
    run = load_run(small_run)
    amap = json.load(open(small_run / "areamap.json"))
    assert [m["when"] for m in amap["maps"]] == ["first", "first_failure", "last"]
    cap = _Figures(monkeypatch)
    from analysis.report import _blocked_pfns
    blocked = _blocked_pfns(run)
    assert plots.area_map(run.area_map, "-", blocked)[0]
    fig = cap.figs[0]
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == len(amap["maps"])
    for ax, m in zip(axes, amap["maps"]):
        texts = " ".join(t.get_text() for t in ax.texts)
        if m["range"]:
            assert f"got {m['range']['pages']} pages at {m['range']['pfn']:#x}" in texts
            bars = [p for p in ax.patches if p.get_facecolor()[:3] == (0, 0, 0)]
            assert bars and bars[0].get_x() <= m["range"]["pfn"] + m["range"]["pages"] / 2 <= \
                bars[0].get_x() + bars[0].get_width()
        else:
            assert f"blocked at {blocked[m['request']]:#x}" in texts
        assert f"#{m['request']}" in ax.get_ylabel()


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
    secs = _sections(html)
    _shows_sentence(secs["phases"], "no cmatrace records")
    _shows_sentence(secs["areamap"], "no area map")


def test_empty_run(small_run):
    p = small_run / "result.json"
    doc = json.load(open(p))
    doc["allocations"] = []
    doc["summary"]["allocations"] = 0
    json.dump(doc, open(p, "w"))
    (small_run / "cmatrace.jsonl").unlink()
    (small_run / "areamap.json").unlink()
    r = cli("report", small_run)
    assert r.returncode == 0, r.stderr
    assert "allocations: 0 (0 ok" in r.stdout
    secs = _sections((small_run / "report.html").read_text())
    _shows_sentence(secs["latency"], "made no requests")


def test_summary_command(small_run):
    r = cli("summary", small_run)
    assert r.returncode == 0 and r.stdout.startswith("run run-small: scenario default")
