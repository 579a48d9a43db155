# SPDX-License-Identifier: GPL-2.0
"""The kcidb document of one `regress` invocation (KCIDB I/O schema v5.3).

A kcidb-based dashboard takes it unchanged: one checkout and one build per
side (baseline and candidate, even when both are the same kernel release),
one test per scenario metric on the candidate's build. The rules followed are
those of kernelci/kcidb-io, kcidb_io/schema/v05_03.py:

- ``version`` is ``{"major": 5, "minor": 3}``;
- every ``id`` is ``<origin>:<rest>`` with origin ``[a-z0-9_]+`` (``cmakit``),
  every object names its ``origin``; checkouts need ``id`` and ``origin``,
  builds ``id``, ``origin`` and ``checkout_id``, tests ``id``, ``origin`` and
  ``build_id``; no other properties than the schema's (extra data goes under
  ``misc``);
- a test ``path`` is dot-separated names of ``[a-zA-Z0-9_-]``: here
  ``cmakit.<scenario>.<metric>`` with both names made to fit (``latency_p50[4MiB]``
  becomes ``latency_p50_4MiB``; the original name stays in ``misc.metric``);
- ``status`` is one of FAIL, ERROR, MISS, PASS, DONE, SKIP;
- ``number`` is ``{"value": <number>, "unit": <string>, "prefix": "metric"|"binary"}``
  (value required): latencies are given in seconds with the metric prefix;
- resources (``output_files``) are ``{"name", "url"}`` with a name without
  ``/`` and an absolute URI as url (``file://`` unless a base URL is given);
- times are RFC 3339 date-times;
- no property is ever null: a value that is unknown is left out.

Ids are stable: the same manifest gives the same ids, and the two sides'
objects differ by the side (``base``/``cand``), never by the release alone.
"""

import datetime as _dt
import math
import os
import pathlib
import re
import urllib.parse

KCIDB_MAJOR = 5
KCIDB_MINOR = 3
ORIGIN = "cmakit"
ORIGIN_RE = re.compile(r"^[a-z0-9_]+$")
PATH_NODE_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ARCH_RE = re.compile(r"^[a-z0-9_]*$")
SIDES = (("base", "baseline"), ("cand", "candidate"))


def path_node(name):
    """NAME as one node of a kcidb test path: runs of other characters become
    one underscore, leading and trailing ones are dropped."""
    s = re.sub(r"[^a-zA-Z0-9_-]+", "_", str(name)).strip("_")
    return s or "_"


def rfc3339(value):
    """An ISO time (or seconds since the epoch) as an RFC 3339 date-time in
    UTC; None when it cannot be read."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value <= 0:
            return None
        t = _dt.datetime.fromtimestamp(value, _dt.timezone.utc)
    elif isinstance(value, str):
        try:
            t = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
    else:
        return None
    return t.astimezone(_dt.timezone.utc).isoformat()


def prune(v):
    """V without null values: None, NaN and infinities are left out of
    objects and lists (kcidb allows no nulls, not even under misc)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = prune(x)
            if x is not None:
                out[str(k)] = x
        return out
    if isinstance(v, (list, tuple)):
        return [x for x in (prune(y) for y in v) if x is not None]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):   # numpy scalars
        return prune(v.item())
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def number(value, unit):
    """kcidb ``number`` of a metric value in cmakit's unit (summary.metric_spec)."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    if unit == "ns":
        return {"value": value * 1e-9, "unit": "s", "prefix": "metric"}
    if unit == "ratio":
        return {"value": value * 100.0, "unit": "%"}
    if unit == "B/s":
        return {"value": value, "unit": "B/s", "prefix": "metric"}
    if unit in ("", "count"):
        return {"value": value}
    return {"value": value, "unit": unit}


def file_url(path, root, base_url=None):
    """URL of PATH (a file under ROOT): BASE_URL + its path relative to ROOT
    when a base URL is given, else its file:// URI."""
    if base_url:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
        return base_url.rstrip("/") + "/" + urllib.parse.quote(rel.replace(os.sep, "/"))
    return pathlib.Path(os.path.abspath(path)).as_uri()


def resource(name, path, root, base_url=None):
    return {"name": os.path.basename(name), "url": file_url(path, root, base_url)}


def _side_ids(regress_id, side):
    return f"{ORIGIN}:{regress_id}:checkout:{side}", f"{ORIGIN}:{regress_id}:build:{side}"


def checkout(manifest, side):
    k = manifest[side]
    cid, _ = _side_ids(manifest["id"], side)
    label = dict(SIDES)[side]
    release = k["release"]
    variant = k.get("variant")
    c = {"id": cid, "origin": ORIGIN,
         "tree_name": "debian-linux-source-6.1",
         "comment": f"{label}: {release}" + (f" (variant {variant})" if variant else ""),
         "start_time": rfc3339(manifest.get("started")),
         "valid": True,
         "misc": {"side": side, "release": release, "variant": variant,
                  "cmakit_git_commit": k.get("git_commit"), "patches": k.get("patches")}}
    if isinstance(k.get("patches"), str) and SHA256_RE.match(k["patches"]):
        c["patchset_hash"] = k["patches"]
    return c


def build(manifest, side):
    k = manifest[side]
    cid, bid = _side_ids(manifest["id"], side)
    b = {"id": bid, "origin": ORIGIN, "checkout_id": cid,
         "comment": f"{dict(SIDES)[side]} kernel {k['release']}",
         "start_time": rfc3339(manifest.get("started")),
         "config_name": k.get("variant"),
         "status": "PASS",
         "misc": {"side": side, "release": k["release"], "config_sha256": k.get("config")}}
    arch = k.get("arch")
    if isinstance(arch, str) and ARCH_RE.match(arch):
        b["architecture"] = arch
    return b


def tests(manifest, scenario, verdict, files, root, base_url=None, started=None):
    """The tests of one scenario: one per metric of its verdict, on the
    candidate's build. FILES: [(name, path)] of the scenario's reports."""
    _, bid = _side_ids(manifest["id"], "cand")
    scen = path_node(scenario)
    outputs = [resource(n, p, root, base_url) for n, p in files]
    out = []
    used = set()
    rows = verdict.get("metrics") or []
    if verdict.get("status") == "ERROR" and all(r["status"] == "SKIP" for r in rows):
        # nothing could be compared (no runs on a side): the scenario itself is the test
        out.append({"id": f"{ORIGIN}:{manifest['id']}:test:{scen}", "origin": ORIGIN, "build_id": bid,
                    "path": f"{ORIGIN}.{scen}", "status": "ERROR",
                    "comment": "; ".join(verdict.get("problems") or []) or "no metrics to compare",
                    "start_time": started, "output_files": outputs,
                    "misc": {"scenario": scenario}})
        return out
    for r in rows:
        node = path_node(r["name"])
        base_node, i = node, 2
        while node in used:            # two names that fit to the same node
            node = f"{base_node}-{i}"
            i += 1
        used.add(node)
        status = r["status"]
        t = {"id": f"{ORIGIN}:{manifest['id']}:test:{scen}:{node}", "origin": ORIGIN, "build_id": bid,
             "path": f"{ORIGIN}.{scen}.{node}", "status": status,
             "start_time": started, "output_files": outputs,
             "misc": {"scenario": scenario, "metric": r["name"], "unit": r.get("unit"),
                      "direction": r.get("direction"),
                      "base_median": r["base"]["median"], "candidate_median": r["candidate"]["median"],
                      "base_runs": r["base"]["n"], "candidate_runs": r["candidate"]["n"],
                      "change": r.get("change"), "p_value": r.get("p_value"),
                      "pooled_p_holm": r.get("pooled_p_holm"), "cliffs_delta": r.get("cliffs_delta"),
                      "threshold": verdict.get("threshold"), "alpha": verdict.get("alpha")}}
        if r.get("note"):
            t["comment"] = r["note"]
        if status != "SKIP":
            num = number(r["candidate"]["median"], r.get("unit", ""))
            if num is not None:
                t["number"] = num
        out.append(t)
    return out


def document(manifest, scenario_verdicts, root, base_url=None):
    """The kcidb document. SCENARIO_VERDICTS: [(scenario, verdict, files,
    start time)] in order; ROOT: the directory the files' URLs are relative to."""
    doc = {"version": {"major": KCIDB_MAJOR, "minor": KCIDB_MINOR},
           "checkouts": [checkout(manifest, s) for s, _ in SIDES],
           "builds": [build(manifest, s) for s, _ in SIDES],
           "tests": []}
    for scen, verdict, files, started in scenario_verdicts:
        doc["tests"] += tests(manifest, scen, verdict, files, root, base_url, rfc3339(started))
    return prune(doc)
