# SPDX-License-Identifier: GPL-2.0
"""`regress REGRESS_DIR`: the verdict of one `make regress` invocation.

REGRESS_DIR/manifest.json (``cmakit.regress/1.x``, written by ci/regress.sh)
names the two sides, baseline ``base`` and candidate ``cand``, each a kernel
(variant, release, arch, this repository's commit, patch and .config
hashes), and per scenario the run directories of each side in the results
store. The sides come from the manifest alone: a kernel compared with itself
has both sides in one store directory.

Written into REGRESS_DIR:

- ``<scenario>/verdict.json`` and ``verdict.html``: `compare`'s verdict of the
  scenario's runs (same rule, same document);
- ``verdict.json`` (``cmakit.regress-verdict/1.0``), ``verdict.html`` and the
  same page as ``index.html``: every scenario, the worst status first;
- ``kcidb.json``: the KCIDB I/O document (kcidb.py);

and the dashboard (default results/dashboard/) is rebuilt from the store.

Exit status: 0 no regression, 1 a regression (the summary names the scenario
and the metric), 2 could not compare. A bad manifest or an unreadable run
writes nothing and gives one line on stderr; too few runs of a scenario give
its ERROR verdict (written, so a dashboard sees the ERROR) and one line on
stderr. The status priority is kcidb's: FAIL, then ERROR, then PASS.
"""

import json
import os
import re
import sys

from . import htmlpage as H
from . import kcidb
from .compare import clean_json, compare_runs
from .errors import InputError
from .jsonio import write_text
from .report import html_verdict
from .runs import load_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = "manifest.json"
MANIFEST_KIND = "cmakit.regress"
VERDICT_SCHEMA = "cmakit.regress-verdict/1.0"
SIDE_KEYS = ("variant", "release", "arch", "git_commit", "patches", "config")
RESERVED = {"manifest.json", "verdict.json", "verdict.html", "index.html", "kcidb.json"}
PRIORITY = ("FAIL", "ERROR", "PASS")           # kcidb's order for a summary status


def _slug(s):
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip(".") or "_"
    return "scenario-" + s if s in RESERVED else s


def resolve(path, root=ROOT):
    """A manifest path: absolute, or relative to the project root."""
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(root, path))


def read_manifest(regress_dir):
    """The manifest of REGRESS_DIR, checked; InputError naming the problem."""
    if not os.path.isdir(regress_dir):
        raise InputError(regress_dir, "no such directory" if not os.path.exists(regress_dir)
                         else "not a directory")
    path = os.path.join(regress_dir, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(path, "no manifest (ci/regress.sh writes it before calling the analysis)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, getattr(e, "strerror", None) or str(e)) from None
    if not text.strip():
        raise InputError(path, "empty file")
    try:
        m = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"invalid JSON at line {e.lineno}: {e.msg}") from None
    if not isinstance(m, dict):
        raise InputError(path, "the manifest is not a JSON object")
    schema = m.get("schema")
    if not isinstance(schema, str) or not re.fullmatch(r"cmakit\.regress/\d+\.\d+", schema):
        raise InputError(path, f"'schema' is {json.dumps(schema)}; expected \"{MANIFEST_KIND}/1.x\"")
    if not schema.startswith(MANIFEST_KIND + "/1."):
        raise InputError(path, f"schema '{schema}' has another major version; this analysis reads "
                         f"{MANIFEST_KIND}/1.x")
    if not isinstance(m.get("id"), str) or not m["id"].strip():
        raise InputError(path, "'id' is missing or not a non-empty string")
    if re.search(r"[\s\0]", m["id"]):
        raise InputError(path, f"'id' {json.dumps(m['id'])} holds white space")
    for key, kind in (("runs", int), ("threshold", (int, float)), ("started", str)):
        if key in m and (not isinstance(m[key], kind) or isinstance(m[key], bool)):
            raise InputError(path, f"'{key}' has the wrong type ({type(m[key]).__name__})")
    if "threshold" in m and not 0 <= m["threshold"] < 10:
        raise InputError(path, f"'threshold' {m['threshold']} is not a fraction (0.10 is 10%)")
    if "started" in m and kcidb.rfc3339(m["started"]) is None:
        raise InputError(path, f"'started' {json.dumps(m['started'])} is not an ISO 8601 time")
    for side, label in kcidb.SIDES:
        k = m.get(side)
        if not isinstance(k, dict):
            raise InputError(path, f"'{side}' (the {label} kernel) is missing or not an object")
        for key in SIDE_KEYS:
            if key in k and not isinstance(k[key], str):
                raise InputError(path, f"'{side}.{key}' is not a string")
        if not k.get("release"):
            raise InputError(path, f"'{side}.release' (the {label} kernel's release) is missing")
    scen = m.get("scenarios")
    if not isinstance(scen, dict) or not scen:
        raise InputError(path, "'scenarios' is missing, empty or not an object")
    seen = {}
    for name, sides in scen.items():
        if not name or not isinstance(sides, dict):
            raise InputError(path, f"scenario {json.dumps(name)}: not an object of 'base' and 'cand' runs")
        for side, _ in kcidb.SIDES:
            runs = sides.get(side)
            if not isinstance(runs, list) or not all(isinstance(p, str) and p for p in runs):
                raise InputError(path, f"scenario '{name}': '{side}' is missing or not a list of run directories")
            for p in runs:
                rp = resolve(p)
                if rp in seen:
                    raise InputError(path, f"run directory {p} is listed twice "
                                     f"({seen[rp]} and {name}.{side})")
                seen[rp] = f"{name}.{side}"
    return m


def load_side(manifest, scenario, side):
    """The loaded runs of one side of SCENARIO, each checked against the manifest."""
    release = manifest[side]["release"]
    label = dict(kcidb.SIDES)[side]
    runs = []
    for p in manifest["scenarios"][scenario][side]:
        d = resolve(p)
        if not os.path.isdir(d):
            raise InputError(d, f"{label} run of scenario '{scenario}': "
                             + ("no such directory" if not os.path.exists(d) else "not a directory"))
        r = load_run(d)
        if r.alloc_source is None:
            raise InputError(d, f"{label} run of scenario '{scenario}' holds no allocation records "
                             "(no cmabench result.json, no cmatrace JSONL)")
        if r.scenario != scenario:
            raise InputError(d, f"a run of scenario '{r.scenario}', listed as a {label} run of '{scenario}'")
        if r.kernel != "unknown" and r.kernel != release:
            raise InputError(d, f"a run of kernel {r.kernel}, listed as a {label} run of {release}")
        runs.append(r)
    return runs


def _json(doc, strict_nulls=False):
    return json.dumps(doc if strict_nulls else clean_json(doc), indent=1, allow_nan=False) + "\n"


def worst(statuses):
    for s in PRIORITY:
        if s in statuses:
            return s
    return "PASS"


def _pct(v):
    return "-" if v is None else f"{100 * v:+.1f}%"


def html_overall(doc, manifest, dashboard_rel):
    v = doc
    def cell(side, key):              # hashes abbreviated; verdict.json has them whole
        x = manifest[side].get(key, "-")
        return x[:12] if key in ("git_commit", "config") else x

    k = [[key] + [cell(side, key) for side, _ in kcidb.SIDES] for key in SIDE_KEYS]
    parts = [f'<h1>cmakit regress {H.esc(v["id"])}: <span class="{v["status"]}">{v["status"]}</span></h1>',
             H.table(["kernel", "baseline", "candidate"], k, left=3, cls="meta"),
             f'<p class="note">FAIL when a metric of the candidate is significantly worse than the '
             f'baseline (one-sided Mann-Whitney U over per-run values, p &lt;= {v["alpha"]}, confirmed by '
             f'the pooled per-allocation test) and its median more than {100 * v["threshold"]:.0f}% worse; '
             f'ERROR when a scenario has fewer than {v["min_runs"]} runs a side.</p>']
    for p in v["problems"]:
        parts.append(f'<p class="ERROR">{H.esc(p)}</p>')
    if v["regressions"]:
        parts.append("<h2>Regressions</h2>")
        parts.append(H.table(["scenario", "metric", "change", "note"],
                             [("FAIL", [r["scenario"], r["metric"], _pct(r["change"]), r["note"]])
                              for r in v["regressions"]], left=4))
    rows = []
    for name, s in v["scenarios"].items():
        rows.append((s["status"], [("raw", f'<a href="{H.esc(s["html"])}">{H.esc(name)}</a>'),
                                   s["status"], ", ".join(s["regressions"]) or "-",
                                   "; ".join(s["problems"]) or "", s["runs"]["base"], s["runs"]["cand"]]))
    parts.append("<h2>Scenarios</h2>")
    parts.append(H.table(["scenario (verdict)", "status", "regressions", "problems", "baseline runs",
                          "candidate runs"], rows, left=4))
    links = ['<a href="kcidb.json">kcidb.json</a> (KCIDB I/O schema '
             f'v{kcidb.KCIDB_MAJOR}.{kcidb.KCIDB_MINOR})', '<a href="verdict.json">verdict.json</a>',
             '<a href="manifest.json">manifest.json</a>']
    if dashboard_rel:
        links.append(f'<a href="{H.esc(dashboard_rel)}">the dashboard</a>')
    parts.append("<p>" + " &middot; ".join(links) + "</p>")
    return H.page(f"cmakit regress {v['id']}: {v['status']}", "\n".join(parts))


def run_regress(regress_dir, store=None, dashboard=None, alpha=0.05, min_runs=3, threshold=None,
                base_url=None, reports=True, quiet=False):
    """The command: returns the exit status (0 no regression, 1 regression, 2 could not compare)."""
    regress_dir = os.path.abspath(regress_dir)
    manifest = read_manifest(regress_dir)
    if threshold is None:
        threshold = float(manifest.get("threshold", 0.10))
    store = os.path.abspath(store) if store else os.path.join(ROOT, "results", "store")
    dashboard = os.path.abspath(dashboard) if dashboard else os.path.join(ROOT, "results", "dashboard")
    if not os.path.isdir(store):
        raise InputError(store, "the results store: " + ("no such directory" if not os.path.exists(store)
                                                         else "not a directory"))
    # every run is read and checked before anything is written
    sides = {}
    for scen in manifest["scenarios"]:
        sides[scen] = (load_side(manifest, scen, "base"), load_side(manifest, scen, "cand"))
    out = {"schema": VERDICT_SCHEMA, "id": manifest["id"], "status": "PASS", "threshold": threshold,
           "alpha": alpha, "min_runs": min_runs, "base": manifest["base"], "cand": manifest["cand"],
           "scenarios": {}, "regressions": [], "problems": [], "kcidb": "kcidb.json", "dashboard": None}
    if isinstance(manifest.get("board"), dict):
        out["board"] = manifest["board"]
    kc_input = []
    pages = []
    for scen, (base_runs, cand_runs) in sides.items():
        v = compare_runs(base_runs, cand_runs, threshold, alpha, min_runs)
        d = _slug(scen)
        vj = os.path.join(regress_dir, d, "verdict.json")
        vh = os.path.join(regress_dir, d, "verdict.html")
        pages.append((vj, _json(v)))
        pages.append((vh, html_verdict(v, base_runs, cand_runs)))
        starts = [r.started for r in cand_runs if r.started > 0]
        kc_input.append((scen, v, [("verdict.html", vh), ("verdict.json", vj)],
                         min(starts) if starts else None))
        out["scenarios"][scen] = {
            "status": v["status"], "verdict": f"{d}/verdict.json", "html": f"{d}/verdict.html",
            "runs": {"base": len(base_runs), "cand": len(cand_runs)},
            "regressions": v["regressions"], "problems": v["problems"]}
        for r in v["metrics"]:
            if r["status"] == "FAIL":
                out["regressions"].append({"scenario": scen, "metric": r["name"], "change": r["change"],
                                           "note": r["note"]})
        out["problems"] += [f"scenario '{scen}': {p}" for p in v["problems"]]
    out["status"] = worst([s["status"] for s in out["scenarios"].values()])
    doc = kcidb.document(manifest, kc_input, regress_dir, base_url)
    dash_index = os.path.join(dashboard, "index.html")
    dashboard_rel = os.path.relpath(dash_index, regress_dir)
    out["dashboard"] = dashboard_rel
    for path, text in pages:
        write_text(path, text)
    write_text(os.path.join(regress_dir, "kcidb.json"), _json(doc, strict_nulls=True))
    write_text(os.path.join(regress_dir, "verdict.json"), _json(out))
    page = html_overall(out, manifest, dashboard_rel)
    write_text(os.path.join(regress_dir, "verdict.html"), page)
    write_text(os.path.join(regress_dir, "index.html"), page)
    # the dashboard: a trend site over the whole store, not only these runs
    dash_note = None
    try:
        from .dashboard import build_dashboard
        build_dashboard(store, dashboard, threshold=threshold, alpha=alpha, reports=reports,
                        min_runs=min_runs)
    except InputError as e:
        dash_note = f"analysis: note: the dashboard was not refreshed: {e}"
    if not quiet:
        b, c = manifest["base"], manifest["cand"]
        print(f"regress {manifest['id']}: {out['status']}: candidate {c['release']}"
              f"{' (' + c['variant'] + ')' if c.get('variant') else ''} against baseline {b['release']}"
              f"{' (' + b['variant'] + ')' if b.get('variant') else ''}, threshold {100 * threshold:.0f}%"
              + (f", clock {out['board']['clock']}" if isinstance(out.get("board", {}).get("clock"), str) else ""))
        for scen, s in out["scenarios"].items():
            print(f"  {s['status']:5} {scen} ({s['runs']['base']} baseline, {s['runs']['cand']} candidate runs"
                  f"{', ' + str(len(s['regressions'])) + ' regressed metrics' if s['regressions'] else ''})")
        for r in out["regressions"]:
            print(f"  REGRESSION {r['scenario']} {r['metric']}: {r['note']}")
        print(f"regress: verdict {os.path.join(regress_dir, 'index.html')}")
        print(f"regress: kcidb {os.path.join(regress_dir, 'kcidb.json')} (KCIDB I/O schema "
              f"v{kcidb.KCIDB_MAJOR}.{kcidb.KCIDB_MINOR}: {len(doc['checkouts'])} checkouts, "
              f"{len(doc['builds'])} builds, {len(doc['tests'])} tests)")
        if dash_note is None:
            print(f"regress: dashboard {dash_index}")
    if dash_note:
        print(dash_note, file=sys.stderr)
    if out["problems"]:
        print(f"analysis: {regress_dir}: could not compare: {'; '.join(out['problems'])}", file=sys.stderr)
    if out["status"] == "FAIL":
        return 1
    return 2 if out["status"] == "ERROR" else 0
