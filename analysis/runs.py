# SPDX-License-Identifier: GPL-2.0
"""Run directories: one directory in, one checked ``Run`` out.

A run directory (``results/<run-id>/``) holds the documents the tools write:
cmabench's result (docs/results.md) and its records as ``allocations.jsonl``,
cmatrace's per-allocation JSONL and its summary (docs/cmatrace.md), the area
map, the copy bandwidth and the BPF collectors' JSON (docs/bpf.md). Each is
dispatched on its ``"schema"`` (schema.py), never on its file name, except
``allocations.jsonl``, which has none: it is read as the records of the
directory's cmabench result (sources.py), which then replace the result's
own ``allocations`` array. The records of cmabench and cmatrace, and the BPF
failure records, are then joined (join.py).

Refused, with an ``InputError`` naming the file and the problem: a file that
is not valid JSON (with the line of a bad JSONL record), a truncated last
record, an empty file, a known kind with an unsupported major version, a
JSONL file whose records change schema, records missing a required field or
carrying a value of the wrong type, a directory with no cmakit document.
Files that are not JSON (.txt, .log, .dat, images) are not looked at.
"""

import datetime as _dt
import json
import os
import re
import sys

from .errors import InputError
from .join import join_bpf_reasons, join_trace
from .jsonio import first_schema
from .schema import (BPF_KINDS, check_area_map, check_bpf, check_cmatrace_summary, check_copybw,
                     check_schema, parse_schema)
from .sources import load_area_map, load_cmabench, load_cmatrace_jsonl
from .table import Table

# cmabench's records, one per line, beside its result.json (no "schema" of their own)
RECORDS_FILE = "allocations.jsonl"
HOST_STARTED_FILE = "host-started"   # ci/run.sh: the host's time at the boot


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
        self.area_map = None      # cmabench's areamap.json (see load_area_map), or None
        self.composition = {}     # "before"/"after" -> {page kind: pages} of the area
        self.joined = False       # the benchmark's records carry the trace's detail
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
        """Start of the run, seconds since the epoch (0 when unknown): the
        host's time at the boot (host-started) when the run has it, else the
        board's (cmabench's 'started'), else the run id's."""
        v = self.meta.get("host_started") or self.meta.get("started")
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


def _read_host_started(path):
    """host-started: one ISO 8601 UTC time, written by ci/run.sh on the host."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"unreadable: {getattr(e, 'strerror', None) or e}") from None
    try:
        _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(path, f"'{text[:40]}' is not an ISO 8601 time") from None
    return text


def load_run(path, warn=None):
    """Load one run directory; InputError on any bad document."""
    warn = warn or (lambda msg: print(f"analysis: {msg}", file=sys.stderr))
    run = Run(path)
    records = os.path.join(run.path, RECORDS_FILE)
    if not os.path.isfile(records):
        records = None
    for f in _json_files(run.path):
        if f == records:
            continue            # read with the cmabench result
        schema, doc = first_schema(f)
        if schema is None:
            run.ignored.append((f, "no 'schema' field"))
            continue
        kind, major, minor = parse_schema(schema, f)
        if kind == "areamap" and major == 1:
            # the board's own snapshots, taken before the fill and after the
            # release: the area is empty in them, so there is nothing to draw
            run.ignored.append((f, "area map 1.x, taken before and after the benchmark"))
            continue
        kind, major, minor = check_schema(schema, f)
        if kind == "cmabench":
            if f.endswith(".jsonl"):
                raise InputError(f, "cmabench writes one result.json document, not JSONL (docs/results.md)")
            if run.allocs is not None:
                raise InputError(f, "a second cmabench result in one run directory")
            run.allocs, meta, run.composition = load_cmabench(doc, f, records)
            run.meta.update(meta)
            run.alloc_source = "cmabench"
            if records is not None:
                run.sources.append((records, schema))
        elif kind == "cmatrace":
            if doc is None:
                run.trace = load_cmatrace_jsonl(f, schema)
            elif doc.get("type") == "summary":
                run.trace_summary = check_cmatrace_summary(doc, f)
            else:
                raise InputError(f, f"cmatrace document of type {json.dumps(doc.get('type'))}; "
                                 "expected records (.jsonl) or a summary")
        elif kind == "copybw":
            copy = doc if doc is not None else {}
            run.meta["copy_bytes_per_s"] = check_copybw(copy, f)
            run.meta["copy"] = copy
        elif kind == "areamap":
            if run.area_map is not None:
                raise InputError(f, "a second area map in one run directory")
            run.area_map = load_area_map(doc, f)
            amap_path = f
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
    host = os.path.join(run.path, HOST_STARTED_FILE)
    if os.path.isfile(host):
        run.meta["host_started"] = _read_host_started(host)
    if records is not None and run.alloc_source != "cmabench":
        run.ignored.append((records, "cmabench records without a cmabench result"))
    if not run.sources:
        raise InputError(run.path, "no cmakit results here (no .json/.jsonl document with a "
                         "'cmakit.cmabench', 'cmakit.cmatrace' or BPF schema)")
    if run.allocs is None and run.trace is not None:
        run.allocs = run.trace
        run.alloc_source = "cmatrace"
    elif run.allocs is not None and run.trace is not None:
        run.joined = join_trace(run.allocs, run.trace)
    if run.allocs is None:
        run.allocs = Table.empty()
    if run.area_map is not None and run.alloc_source == "cmabench":
        check_area_map(run.area_map, amap_path, run.allocs)
    join_bpf_reasons(run.allocs, run.bpf.get("bpf"))
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
