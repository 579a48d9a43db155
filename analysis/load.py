# SPDX-License-Identifier: GPL-2.0
"""Loaders: one run directory in, one ``Run`` out, every schema checked.

A run directory (``results/<run-id>/``) holds the documents the tools write:
cmabench's result (docs/results.md), cmatrace's per-allocation JSONL and its
summary (docs/cmatrace.md) and the BPF collectors' JSON (docs/bpf.md). Every
document names its format in ``"schema": "cmakit.<kind>/<major>.<minor>"``;
the loader dispatches on that, never on the file name, and accepts the major
versions in ``SUPPORTED`` (any minor: minors only add fields, and fields this
code does not know are ignored).

Refused, with an ``InputError`` naming the file and the problem: a file that
is not valid JSON (with the line of a bad JSONL record), a truncated last
record, an empty file, a known kind with an unsupported major version, a
JSONL file whose records change schema, records missing a required field or
carrying a value of the wrong type, a directory with no cmakit document.
Files that are not JSON (.txt, .log, .dat, images) are not looked at.
"""

import datetime as _dt
import itertools
import json
import os
import re
import sys

import numpy as np

from .errors import InputError
from .table import PHASES, Table, reason_code

SCHEMA_RE = re.compile(r"^cmakit\.([a-z0-9_-]+)/(\d+)\.(\d+)$")

# kind -> supported major version
SUPPORTED = {"cmabench": 1, "cmatrace": 1}
# The BPF collectors: every "cmakit.<tool>/1.x" whose kind is listed here.
BPF_KINDS = ("cmalat", "cmafail", "cmamigrate", "bpf")
for _k in BPF_KINDS:
    SUPPORTED.setdefault(_k, 1)

JSONL_BATCH = 65536


def parse_schema(value, path):
    """("cmatrace", 1, 0) for "cmakit.cmatrace/1.0"; InputError otherwise."""
    if not isinstance(value, str):
        raise InputError(path, f"'schema' is {json.dumps(value)}, not a string like 'cmakit.cmatrace/1.0'")
    m = SCHEMA_RE.match(value)
    if not m:
        raise InputError(path, f"schema '{value}' is not of the form 'cmakit.<kind>/<major>.<minor>'")
    return m.group(1), int(m.group(2)), int(m.group(3))


def check_schema(value, path):
    """Parse the schema and check its major version; returns (kind, major, minor)."""
    kind, major, minor = parse_schema(value, path)
    want = SUPPORTED.get(kind)
    if want is not None and major != want:
        raise InputError(path, f"schema '{value}' has major version {major}; this analysis reads "
                         f"cmakit.{kind}/{want}.x")
    return kind, major, minor


class Run:
    """Everything one run directory holds, loaded and checked."""

    def __init__(self, path):
        self.path = str(path)
        self.run_id = os.path.basename(os.path.normpath(self.path))
        self.meta = {}            # scenario, kernel, started, area, copy bandwidth
        self.allocs = None        # Table: the benchmark's allocations (else the trace's)
        self.trace = None         # Table: cmatrace's allocations
        self.trace_summary = None
        self.bpf = {}             # kind -> document
        self.area_maps = {}       # "before"/"after" -> dict(base_pfn, kinds (uint8 array), names)
        self.sources = []         # (file, schema)
        self.ignored = []         # (file, why)
        self.alloc_source = None  # "cmabench" or "cmatrace"

    @property
    def scenario(self):
        return self.meta.get("scenario") or "unknown"

    @property
    def kernel(self):
        return self.meta.get("kernel") or "unknown"

    @property
    def kernel_hash(self):
        k = self.meta.get("kernel_hash")
        if k:
            return k
        m = re.search(r"-cmakit-([0-9a-f]+)", self.kernel)
        if m:
            return m.group(1)
        m = re.search(r"-([0-9a-f]{6,})$", self.run_id)
        return m.group(1) if m else "unknown"

    @property
    def started(self):
        """Start of the run, seconds since the epoch (0 when unknown)."""
        v = self.meta.get("started")
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, str):
            try:
                return _dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
            except ValueError:
                pass
        m = re.match(r"^(\d{8}-\d{6})", self.run_id)
        if m:
            return _dt.datetime.strptime(m.group(1), "%Y%m%d-%H%M%S").timestamp()
        return 0.0

    @property
    def copy_bw(self):
        """Memory-copy bandwidth measured in the run, bytes per second (None if absent)."""
        v = self.meta.get("copy_bytes_per_s")
        return float(v) if v else None


# --------------------------------------------------------------------------
# reading files

def _read_json(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    if not data.strip():
        raise InputError(path, "file is empty")
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        if e.pos >= len(data.rstrip()) - 1:
            raise InputError(path, f"truncated JSON (ends at line {e.lineno} before the document is complete)") from None
        raise InputError(path, f"line {e.lineno} column {e.colno}: invalid JSON: {e.msg}") from None


def _bad_line(path, lineno, line, last):
    """The InputError for one JSONL line that did not parse."""
    try:
        json.loads(line)
    except UnicodeDecodeError:
        return InputError(path, f"line {lineno}: not UTF-8 text")
    except json.JSONDecodeError as e:
        if last and not line.endswith(b"\n"):
            return InputError(path, f"line {lineno}: truncated record (the file ends inside it)")
        return InputError(path, f"line {lineno}: invalid JSON: {e.msg} (column {e.colno})")
    return InputError(path, f"line {lineno}: invalid JSON")


def iter_jsonl(path):
    """Yield (first line number, [records]) batches of a JSONL file; checks every line."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    with f:
        lineno = 1
        seen = False
        while True:
            batch = list(itertools.islice(f, JSONL_BATCH))
            if not batch:
                break
            last = len(batch) < JSONL_BATCH or not f.peek(1)
            keep = [ln for ln in batch if not ln.isspace()]
            try:
                recs = json.loads(b"[" + b",".join(keep) + b"]") if keep else []
                if len(recs) != len(keep):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                for i, ln in enumerate(batch):
                    if ln.isspace():
                        continue
                    try:
                        json.loads(ln)
                        if not isinstance(json.loads(ln), dict):
                            raise InputError(path, f"line {lineno + i}: a record is not a JSON object")
                    except (ValueError, UnicodeDecodeError):
                        raise _bad_line(path, lineno + i, ln, last and i == len(batch) - 1) from None
                raise InputError(path, f"lines {lineno}-{lineno + len(batch) - 1}: invalid JSON") from None
            if keep and not batch[-1].endswith(b"\n") and last:
                # valid JSON but no newline: a writer that stopped mid-file is
                # only detectable when the record is incomplete; accept it.
                pass
            seen = seen or bool(recs)
            yield lineno, recs
            lineno += len(batch)
        if not seen:
            raise InputError(path, "file is empty" if lineno == 1 else "no records (only blank lines)")


def _first_schema(path):
    """The schema of a .json or .jsonl file, read from its first record."""
    if path.endswith(".jsonl"):
        try:
            with open(path, "rb") as f:
                line = f.readline()
                while line and line.isspace():
                    line = f.readline()
        except OSError as e:
            raise InputError(path, e.strerror or str(e)) from None
        if not line:
            raise InputError(path, "file is empty")
        try:
            rec = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise _bad_line(path, 1, line, not line.endswith(b"\n")) from None
        doc = None
    else:
        rec = doc = _read_json(path)
    if not isinstance(rec, dict):
        raise InputError(path, "the document is not a JSON object")
    if "schema" not in rec:
        return None, doc
    return rec["schema"], doc


# --------------------------------------------------------------------------
# column extraction helpers (one comprehension per column, per batch)

def _num(recs, key, path, first, dtype=np.float64, required=False):
    vals = [r.get(key) for r in recs]
    try:
        arr = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(vals):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise InputError(path, f"line {first + i}: '{key}' is {json.dumps(v)}, not a number") from None
        raise
    if required and np.isnan(arr).any():
        i = int(np.flatnonzero(np.isnan(arr))[0])
        raise InputError(path, f"line {first + i}: required field '{key}' is missing or null")
    if dtype is not np.float64:
        arr = arr.astype(dtype)
    return arr


def _sub(recs, obj, key):
    """[r[obj][key]] with None where r[obj] is null or absent."""
    out = []
    for r in recs:
        o = r.get(obj)
        out.append(o.get(key) if isinstance(o, dict) else None)
    return out


def _sub_num(recs, obj, key, path, first):
    vals = _sub(recs, obj, key)
    try:
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(vals):
            if v is not None and not isinstance(v, (int, float)):
                raise InputError(path, f"line {first + i}: '{obj}.{key}' is {json.dumps(v)}, not a number") from None
        raise


_STATUS = {"ok": 0, "failed": 1, "unfinished": 2}


def _status(recs, path, first):
    try:
        return np.array([_STATUS[r["status"]] for r in recs], dtype=np.int8)
    except (KeyError, TypeError):
        for i, r in enumerate(recs):
            if r.get("status") not in _STATUS:
                raise InputError(path, f"line {first + i}: 'status' is {json.dumps(r.get('status'))}, "
                                 "not ok, failed or unfinished") from None
        raise


def _reasons(values):
    cache = {}
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        c = cache.get(v)
        if c is None:
            c = cache[v] = reason_code(v)
        out[i] = c
    return out


# --------------------------------------------------------------------------
# cmatrace (docs/cmatrace.md)

def _cmatrace_batch(recs, path, first, schema):
    for i, r in enumerate(recs):
        if r.get("schema") != schema:
            if not isinstance(r, dict):
                raise InputError(path, f"line {first + i}: a record is not a JSON object")
            raise InputError(path, f"line {first + i}: schema {json.dumps(r.get('schema'))} differs from "
                             f"the first record's '{schema}'")
    types = {r.get("type") for r in recs}
    if types - {"alloc"}:
        # a summary document mixed into the records: keep only the records
        recs = [r for r in recs if r.get("type") == "alloc"]
        if not recs:
            return None
    cols = {}
    start = _num(recs, "ts_start_ns", path, first)
    cols["t_ns"] = start
    cols["size"] = _num(recs, "count", path, first, np.int64, required=True)
    cols["align"] = np.nan_to_num(_num(recs, "align", path, first)).astype(np.int64)
    cols["latency_ns"] = _num(recs, "latency_ns", path, first)
    cols["status"] = st = _status(recs, path, first)
    cols["errno"] = np.nan_to_num(_num(recs, "errno", path, first)).astype(np.int32)
    cols["errno"][st == 2] = 0
    cols["reason"] = _reasons(_sub(recs, "blocking", "reason"))
    cols["retries"] = _num(recs, "retries", path, first)
    for ph in PHASES:
        cols[ph + "_ns"] = _sub_num(recs, "phases", ph + "_ns", path, first)
    mig = _sub_num(recs, "migrate", "migrated", path, first)
    mm = _sub_num(recs, "mm_migrate", "succeeded", path, first)
    cols["migrated"] = np.where(np.isnan(mig), mm, mig)
    cols["occupancy"] = np.full(len(recs), np.nan)
    # a failed record with no blocking page: reason "none"
    none = (cols["reason"] < 0) & (st == 1)
    cols["reason"][none] = len(("pinned", "writeback", "dirty", "locked", "unmovable",
                                "isolate_failed", "free_race", "injected", "unknown"))
    return Table(cols)


def load_cmatrace_jsonl(path, schema):
    parts = []
    for first, recs in iter_jsonl(path):
        if recs:
            parts.append(_cmatrace_batch(recs, path, first, schema))
    t = Table.concat(parts)
    if len(t) and np.isfinite(t.t_ns).any():
        t.columns["t_ns"] = t.t_ns - np.nanmin(t.t_ns)
    return t


def check_cmatrace_summary(doc, path):
    for key in ("allocations", "ok", "failed"):
        if not isinstance(doc.get(key), int):
            raise InputError(path, f"cmatrace summary: '{key}' is missing or not an integer")
    return doc


# --------------------------------------------------------------------------
# cmabench (docs/results.md)

def _cmabench_records(recs, path, first):
    """Columns from cmabench allocation records (same field names as cmatrace where shared)."""
    cols = {}
    cols["t_ns"] = _num(recs, "t_ns", path, first)
    cols["size"] = _num(recs, "count", path, first, np.int64, required=True)
    cols["align"] = np.nan_to_num(_num(recs, "align", path, first)).astype(np.int64)
    lat = _num(recs, "latency_ns", path, first)
    cols["latency_ns"] = lat
    err = _num(recs, "errno", path, first)
    if np.isnan(err).any():
        i = int(np.flatnonzero(np.isnan(err))[0])
        raise InputError(path, f"record {first + i}: required field 'errno' is missing or null")
    cols["errno"] = err.astype(np.int32)
    st = np.where(cols["errno"] == 0, 0, 1).astype(np.int8)
    st[np.isnan(lat)] = 2
    cols["status"] = st
    cols["reason"] = _reasons([r.get("blocking_reason") for r in recs])
    cols["reason"][(cols["reason"] < 0) & (st == 1)] = reason_code("none")
    cols["retries"] = _num(recs, "retries", path, first)
    for ph in PHASES:
        cols[ph + "_ns"] = _sub_num(recs, "phases", ph + "_ns", path, first)
    cols["migrated"] = _num(recs, "pages_migrated", path, first)
    cols["occupancy"] = _num(recs, "occupancy", path, first)
    kinds = set()
    for r in recs[:1000]:
        m = r.get("page_mix")
        if isinstance(m, dict):
            kinds.update(m)
    for k in sorted(kinds):
        cols["mix_" + k] = _sub_num(recs, "page_mix", k, path, first)
    return Table(cols)


def _area_map(doc, path, key):
    m = doc.get(key)
    if m is None:
        return None
    if not isinstance(m, dict) or "kinds" not in m or "runs" not in m:
        raise InputError(path, f"'{key}' is not an area map with 'kinds' and 'runs'")
    names = m["kinds"]
    runs = m["runs"]
    try:
        runs = np.asarray(runs, dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise InputError(path, f"'{key}.runs' is not a list of [kind, count] pairs") from None
    if len(runs) and (runs[:, 0].min() < 0 or runs[:, 0].max() >= len(names) or runs[:, 1].min() < 0):
        raise InputError(path, f"'{key}.runs' refers to a kind outside 'kinds' or has a negative count")
    kinds = np.repeat(runs[:, 0].astype(np.uint8), runs[:, 1])
    return {"base_pfn": int(m.get("base_pfn", 0)), "names": list(names), "kinds": kinds}


def load_cmabench(doc, path, run):
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else doc
    for key in ("scenario", "kernel", "kernel_hash", "started", "board"):
        if key in meta:
            run.meta[key] = meta[key]
    area = meta.get("area")
    if isinstance(area, dict):
        run.meta["area"] = area
    bw = meta.get("copy_bytes_per_s")
    if bw is not None:
        if not isinstance(bw, (int, float)) or bw <= 0:
            raise InputError(path, f"'copy_bytes_per_s' is {json.dumps(bw)}, not a positive number")
        run.meta["copy_bytes_per_s"] = bw
    allocs = doc.get("allocations")
    if allocs is None:
        raise InputError(path, "no 'allocations' in the cmabench result")
    if isinstance(allocs, str):
        sub = os.path.join(os.path.dirname(path), allocs)
        parts = []
        for first, recs in iter_jsonl(sub):
            parts.append(_cmabench_records(recs, sub, first))
        table = Table.concat(parts)
    elif isinstance(allocs, list):
        if allocs and not all(isinstance(r, dict) for r in allocs):
            raise InputError(path, "'allocations' holds something that is not an object")
        table = _cmabench_records(allocs, path, 0) if allocs else Table.empty()
    else:
        raise InputError(path, "'allocations' is neither a list of records nor a file name")
    for key in ("before", "after"):
        am = _area_map(doc.get("area_map", {}) if isinstance(doc.get("area_map"), dict) else {}, path, key)
        if am is not None:
            run.area_maps[key] = am
    return table


# --------------------------------------------------------------------------
# BPF collectors (docs/bpf.md)

def check_bpf(doc, path):
    if not isinstance(doc, dict):
        raise InputError(path, "the document is not a JSON object")
    return doc


# --------------------------------------------------------------------------

def _json_files(path):
    try:
        names = sorted(os.listdir(path))
    except FileNotFoundError:
        raise InputError(path, "no such directory") from None
    except NotADirectoryError:
        raise InputError(path, "not a directory") from None
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    return [os.path.join(path, n) for n in names
            if n.endswith((".json", ".jsonl")) and os.path.isfile(os.path.join(path, n))]


def has_results(path):
    """The directory holds at least one .json/.jsonl file (a run directory)."""
    try:
        return bool(_json_files(path))
    except InputError:
        return False


def load_run(path, warn=None):
    """Load one run directory; InputError on any bad document."""
    warn = warn or (lambda msg: print(f"analysis: {msg}", file=sys.stderr))
    run = Run(path)
    files = _json_files(run.path)
    referenced = set()
    docs = []
    for f in files:
        schema, doc = _first_schema(f)
        if schema is None:
            run.ignored.append((f, "no 'schema' field"))
            continue
        kind, major, minor = check_schema(schema, f)
        docs.append((f, schema, kind, doc))
        if kind == "cmabench" and isinstance(doc, dict) and isinstance(doc.get("allocations"), str):
            referenced.add(os.path.normpath(os.path.join(run.path, doc["allocations"])))
    for f, schema, kind, doc in docs:
        if os.path.normpath(f) in referenced:
            continue
        if kind == "cmabench":
            if doc is None:
                raise InputError(f, "cmabench records without a result document (see docs/results.md)")
            run.allocs = load_cmabench(doc, f, run)
            run.alloc_source = "cmabench"
        elif kind == "cmatrace":
            if doc is None:
                run.trace = load_cmatrace_jsonl(f, schema)
            elif doc.get("type") == "summary":
                run.trace_summary = check_cmatrace_summary(doc, f)
            else:
                raise InputError(f, f"cmatrace document of type {json.dumps(doc.get('type'))}; "
                                 "expected records (.jsonl) or a summary")
        elif kind in BPF_KINDS:
            if doc is None:
                run.ignored.append((f, "BPF JSONL is not read"))
                continue
            run.bpf[kind] = check_bpf(doc, f)
        else:
            run.ignored.append((f, f"unknown kind '{kind}'"))
            warn(f"{f}: schema '{schema}' is not one this analysis reads; ignored")
            continue
        run.sources.append((f, schema))
    if not run.sources:
        raise InputError(run.path, "no cmakit results here (no .json/.jsonl document with a "
                         "'cmakit.cmabench', 'cmakit.cmatrace' or BPF schema)")
    if run.allocs is None and run.trace is not None:
        run.allocs = run.trace
        run.alloc_source = "cmatrace"
    if run.allocs is None:
        run.allocs = Table.empty()
    return run


def find_runs(path):
    """Run directories under PATH: PATH itself if it holds results, else its
    subdirectories that do (one level), sorted by name."""
    if not os.path.isdir(path):
        raise InputError(path, "no such directory" if not os.path.exists(path) else "not a directory")
    if has_results(path):
        return [path]
    subs = [os.path.join(path, n) for n in sorted(os.listdir(path))]
    return [s for s in subs if os.path.isdir(s) and has_results(s)]
