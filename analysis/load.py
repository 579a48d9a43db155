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
import operator
import os
import re
import sys

import numpy as np

from .errors import InputError
from .table import PHASES, Table, reason_code

SCHEMA_RE = re.compile(r"^cmakit\.([a-z0-9_-]+)/(\d+)\.(\d+)$")

# kind -> supported major version
SUPPORTED = {"cmabench": 1, "cmatrace": 1, "copybw": 1, "areamap": 2}
# The BPF collectors' document (docs/bpf.md): cmacollect writes "cmakit.bpf/1.x".
BPF_KINDS = ("bpf",)
for _k in BPF_KINDS:
    SUPPORTED.setdefault(_k, 1)

JSONL_BATCH = 65536
CHUNK = 16 << 20       # characters of a large array parsed per json.loads


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


_SCHEMA_HEAD = re.compile(rb'\s*\{\s*"schema"\s*:\s*"([^"]{0,200})"')


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
        try:
            with open(path, "rb") as f:
                head = f.read(4096)
        except OSError as e:
            raise InputError(path, e.strerror or str(e)) from None
        m = _SCHEMA_HEAD.match(head)
        if m and m.group(1).startswith(b"cmakit.cmabench/"):
            # large: streamed later, never loaded whole
            return m.group(1).decode("ascii", "replace"), None
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

# The blocking page's kind, from the state bits cmatrace names ("flags"):
# index into BLOCK_KINDS, -1 when the trace names no page state.
BLOCK_KINDS = ("anon", "shmem", "file", "other")


def _block_kinds(flags):
    out = np.full(len(flags), -1, dtype=np.int8)
    for i, f in enumerate(flags):
        if isinstance(f, list):
            if "anon" in f:
                out[i] = 0
            elif "shmem" in f:
                out[i] = 1
            elif "file" in f or "lru" in f:
                out[i] = 2
            else:
                out[i] = 3
    return out


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
    cols["block_pfn"] = _sub_num(recs, "blocking", "pfn", path, first)
    cols["block_kind"] = _block_kinds(_sub(recs, "blocking", "flags"))
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

_WS = re.compile(r"[ \t\n\r]*")
MIX_PARTITION = ("free", "cma", "anon", "shmem", "file", "other")
MIX_SHOWN = ("anon", "file", "shmem", "other", "thp", "dirty", "writeback")


def _json_error(path, text, e):
    if e.pos >= len(text.rstrip()) - 1:
        return InputError(path, f"truncated JSON (the file ends at line {e.lineno} inside the document)")
    return InputError(path, f"line {e.lineno} column {e.colno}: invalid JSON: {e.msg}")


def stream_document(path, array_key, on_batch, batch=JSONL_BATCH):
    """Parse a JSON object without holding all of ARRAY_KEY's elements at once:
    they are handed to ON_BATCH(first_index, [elements]) in batches; every other
    top-level member is returned in a dict (ARRAY_KEY maps to the element count)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    if not data.strip():
        raise InputError(path, "file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    del data
    dec = json.JSONDecoder()
    ws = _WS.match
    top = {}

    def expect(pos, chars, what):
        pos = ws(text, pos).end()
        if pos >= len(text):
            raise InputError(path, f"truncated JSON (the file ends where {what} was expected)")
        if text[pos] not in chars:
            line = text.count("\n", 0, pos) + 1
            raise InputError(path, f"line {line}: invalid JSON: expected {what}")
        return pos

    try:
        pos = expect(0, "{", "an object")
        pos += 1
        if text[ws(text, pos).end():ws(text, pos).end() + 1] == "}":
            return top
        while True:
            pos = expect(pos, '"', "a member name")
            key, pos = dec.raw_decode(text, pos)
            pos = expect(pos, ":", "':'") + 1
            pos = ws(text, pos).end()
            if key == array_key and text.startswith("[", pos):
                pos += 1
                n = 0
                pending = []

                def flush():
                    nonlocal n, pending
                    if pending:
                        on_batch(n, pending)
                        n += len(pending)
                        pending = []

                slow = 0
                start_pos = -1
                done = False
                while True:
                    pos = ws(text, pos).end()
                    if text.startswith("]", pos):
                        pos += 1
                        break
                    start_pos = pos
                    # fast path: a chunk of whole elements in one json.loads; a
                    # cut inside an element leaves brackets open and fails, and
                    # the element-by-element path below takes over
                    if slow <= 0:
                        end = pos + CHUNK
                        for _ in range(4):
                            cut = text.rfind("},", pos, end)
                            if cut <= pos:
                                break
                            chunk = "[" + text[pos:cut + 1] + "]"
                            try:
                                recs, used = dec.raw_decode(chunk)
                            except json.JSONDecodeError:
                                end = cut   # the cut fell inside an element: try an earlier one
                                continue
                            flush()
                            on_batch(n, recs)
                            n += len(recs)
                            if used == len(chunk):
                                pos = cut + 2
                            else:
                                # the array's own ']' closed it inside the chunk
                                pos = pos + used - 1
                                done = True
                            break
                        else:
                            slow = 256    # no clean cut: parse a few elements one by one
                        if done:
                            break
                        if pos != start_pos:
                            start_pos = pos
                            continue
                        slow = max(slow, 1)
                    slow -= 1
                    obj, pos = dec.raw_decode(text, pos)
                    pending.append(obj)
                    if len(pending) >= batch:
                        flush()
                    pos = expect(pos, ",]", "',' or ']' after an element")
                    pos += 1
                    if text[pos - 1] == "]":
                        break
                flush()
                top[key] = n
            else:
                top[key], pos = dec.raw_decode(text, pos)
            pos = expect(pos, ",}", "',' or '}' after a member")
            pos += 1
            if text[pos - 1] == "}":
                break
    except json.JSONDecodeError as e:
        raise _json_error(path, text, e) from None
    if text[pos:].strip():
        line = text.count("\n", 0, pos) + 1
        raise InputError(path, f"line {line}: unexpected data after the document")
    return top


def _bool(recs, key, path, first):
    vals = [r.get(key) for r in recs]
    try:
        arr = np.array(vals, dtype=bool)
        if any(type(v) is not bool for v in vals):
            raise TypeError
        return arr
    except (TypeError, ValueError):
        for i, v in enumerate(vals):
            if type(v) is not bool:
                raise InputError(path, f"allocation {first + i}: '{key}' is {json.dumps(v)}, not true/false") from None
        raise


_REQUIRED = ("t_ns", "pages", "user_ns", "errno")
_REQ_GET = operator.itemgetter(*_REQUIRED)
_MIX_KEYS = tuple(sorted(set(MIX_PARTITION + MIX_SHOWN)))
_MIX_GET = operator.itemgetter(*_MIX_KEYS)


def _fast_numbers(recs, getter, width):
    """np.array of getter(r) for every record, or None when anything is off
    (a missing key, a value that is not a number): the slow path then finds
    and names it."""
    try:
        rows = [getter(r) for r in recs]
        arr = np.array(rows, dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        return None
    if arr.shape != (len(recs), width) or np.isnan(arr).any():
        return None
    if any(isinstance(v, str) for v in rows[0]) or any(isinstance(v, bool) for v in rows[0]):
        return None
    return arr


def _cmabench_records(recs, path, first):
    """Columns from cmabench allocation records (docs/results.md, 'allocations')."""
    for i, r in enumerate(recs):
        if not isinstance(r, dict):
            raise InputError(path, f"allocation {first + i} is not a JSON object")
    where = "allocation"
    cols = {}

    def num(key, required=False):
        try:
            return _num(recs, key, path, first, required=required)
        except InputError as e:
            raise InputError(path, e.problem.replace("line ", where + " ", 1)) from None

    req = _fast_numbers(recs, _REQ_GET, len(_REQUIRED))
    if req is None:
        req = np.column_stack([num(k, required=True) for k in _REQUIRED])
    cols["t_ns"] = req[:, 0]
    cols["size"] = req[:, 1].astype(np.int64)
    cols["latency_ns"] = req[:, 2]
    err = req[:, 3]
    cols["align"] = np.nan_to_num(num("align")).astype(np.int64)
    ok = _bool(recs, "ok", path, first)
    cols["errno"] = -np.abs(err).astype(np.int32)
    cols["status"] = np.where(ok, 0, 1).astype(np.int8)
    bad = ok & (err != 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"allocation {first + i}: 'ok' is true but 'errno' is {int(err[i])}")
    cols["kernel_ns"] = num("kernel_ns")
    cols["retries"] = num("retries")
    inj = [r.get("injected") for r in recs]
    cols["injected"] = np.array(inj, dtype=np.float64) if None not in inj else \
        np.array([np.nan if v is None else float(bool(v)) for v in inj])
    reason = np.full(len(recs), -1, dtype=np.int8)
    reason[(cols["injected"] == 1) & ~ok] = reason_code("injected")
    cols["reason"] = reason
    cols["migrated"] = num("migrated")   # 1.1: the area's stats delta (patched kernel)
    for ph in PHASES:
        cols[ph + "_ns"] = np.full(len(recs), np.nan)
    occ = [r.get("occupancy") for r in recs]
    pages = [o.get("pages") if o.__class__ is dict else None for o in occ]
    fake = [{"o": o if o.__class__ is dict else None} for o in occ]
    cols["occupancy"] = _sub_num(fake, "o", "used", path, first)
    if any(p.__class__ is dict for p in pages):
        mix = None
        if all(p.__class__ is dict for p in pages):
            mix = _fast_numbers(pages, _MIX_GET, len(_MIX_KEYS))
        if mix is not None:
            counts = {k: mix[:, j] for j, k in enumerate(_MIX_KEYS)}
        else:
            fake = [{"p": p if p.__class__ is dict else None} for p in pages]
            counts = {k: _sub_num(fake, "p", k, path, first) for k in _MIX_KEYS}
        total = sum(np.nan_to_num(counts[k]) for k in MIX_PARTITION)
        total[total == 0] = np.nan
        for k in MIX_SHOWN:
            cols["mix_" + k] = counts[k] / total
        cols["mix_free"] = counts["free"] / total
        cols["mix_cma"] = counts["cma"] / total
    return Table(cols)


def _composition(recs_pages):
    return {k: v for k, v in recs_pages.items() if isinstance(v, (int, float))}


def load_cmabench(path, run):
    parts = []
    firsts = {}

    def on_batch(first, recs):
        if first == 0 and recs:
            firsts["first"] = recs[0]
        firsts["last"] = recs[-1]
        parts.append(_cmabench_records(recs, path, first))

    doc = stream_document(path, "allocations", on_batch)
    check_schema(doc.get("schema"), path)
    meta = doc.get("run")
    if not isinstance(meta, dict):
        raise InputError(path, "'run' is missing or not an object")
    if "allocations" not in doc:
        raise InputError(path, "no 'allocations' in the cmabench result")
    if not isinstance(doc["allocations"], int):
        raise InputError(path, "'allocations' is not a list of records")
    scen = meta.get("scenario")
    run.meta["scenario"] = scen.get("name") if isinstance(scen, dict) else None
    kern = meta.get("kernel") if isinstance(meta.get("kernel"), dict) else {}
    run.meta["kernel"] = kern.get("release")
    run.meta["kernel_hash"] = kern.get("series_hash")
    run.meta["patched"] = kern.get("patched")
    for key in ("id", "started", "finished", "duration_s", "status", "error", "board", "backend",
                "config", "pressure", "inject", "tool_version"):
        if key in meta:
            run.meta[key] = meta[key]
    cfg = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    areas = doc.get("areas") if isinstance(doc.get("areas"), list) else []
    for a in areas:
        if isinstance(a, dict) and a.get("name") == cfg.get("area"):
            run.meta["area"] = {"name": a.get("name"), "base_pfn": a.get("base_pfn"),
                                "count": a.get("pages")}
    board = meta.get("board") if isinstance(meta.get("board"), dict) else {}
    if isinstance(board.get("page_size"), int):
        run.meta["page_size"] = board["page_size"]
    summ = doc.get("summary")
    if isinstance(summ, dict):
        run.meta["summary"] = summ
        want = summ.get("allocations")
        if isinstance(want, int) and want != doc["allocations"]:
            raise InputError(path, f"the summary counts {want} allocations but {doc['allocations']} "
                             "records are present")
    counters = doc.get("counters")
    if isinstance(counters, dict):
        run.meta["counters"] = counters
    bw = meta.get("copy_bytes_per_s")
    if isinstance(bw, (int, float)) and bw > 0:
        run.meta["copy_bytes_per_s"] = float(bw)
    # occupancy before the first and after the last request: the area's composition
    for key, which in (("before", "first"), ("after", "last")):
        r = firsts.get(which)
        occ = r.get("occupancy") if isinstance(r, dict) else None
        if isinstance(occ, dict) and isinstance(occ.get("pages"), dict):
            run.composition[key] = _composition(occ["pages"])
    return Table.concat(parts) if parts else Table.empty()


AREAMAP_WHEN = ("first", "first_failure", "last")


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def load_area_map(doc, path):
    """cmabench's area map (``cmakit.areamap/2.x``, docs/results.md): the page
    kind of every pfn of the area just before the first request, the first
    failed request and the last request, with the range each request got.

    Returns {"area", "base_pfn", "pages", "names", "maps": [{"when",
    "request", "pages_requested", "ok", "errno", "range": (pfn, pages) or
    None, "kinds": uint8 array of one kind index per page}]}."""
    if not isinstance(doc, dict):
        raise InputError(path, "an area map is one JSON document, not JSONL")
    for key in ("base_pfn", "pages"):
        if not _int(doc.get(key)) or doc[key] < 0:
            raise InputError(path, f"'{key}' is {json.dumps(doc.get(key))}, not a non-negative integer")
    base, pages = doc["base_pfn"], doc["pages"]
    names = doc.get("kinds")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError(path, "'kinds' is not a list of page kind names")
    maps = doc.get("maps")
    if not isinstance(maps, list):
        raise InputError(path, "'maps' is missing or not a list")
    out = []
    for i, m in enumerate(maps):
        where = f"maps[{i}]"
        if not isinstance(m, dict):
            raise InputError(path, f"{where} is not an object")
        if m.get("when") not in AREAMAP_WHEN:
            raise InputError(path, f"{where}.when is {json.dumps(m.get('when'))}, not one of "
                             + ", ".join(AREAMAP_WHEN))
        for key in ("request", "pages_requested"):
            if not _int(m.get(key)) or m[key] < 0:
                raise InputError(path, f"{where}.{key} is {json.dumps(m.get(key))}, not a non-negative integer")
        if not isinstance(m.get("ok"), bool):
            raise InputError(path, f"{where}.ok is {json.dumps(m.get('ok'))}, not true/false")
        err = m.get("errno")
        if err is not None and not isinstance(err, str):
            raise InputError(path, f"{where}.errno is {json.dumps(err)}, not a name like \"EBUSY\" or null")
        rng = m.get("range")
        if rng is not None:
            if not isinstance(rng, dict) or not _int(rng.get("pfn")) or not _int(rng.get("pages")):
                raise InputError(path, f"{where}.range is not {{\"pfn\": N, \"pages\": N}} or null")
            if rng["pfn"] < base or rng["pfn"] + rng["pages"] > base + pages:
                raise InputError(path, f"{where}.range (pfn {rng['pfn']}, {rng['pages']} pages) lies outside "
                                 f"the area (pfn {base}, {pages} pages)")
            rng = (rng["pfn"], rng["pages"])
        try:
            runs = np.asarray(m.get("runs"), dtype=np.int64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise InputError(path, f"{where}.runs is not a list of [kind, pages] pairs") from None
        if len(runs) and (runs[:, 0].min() < 0 or runs[:, 0].max() >= len(names) or runs[:, 1].min() <= 0):
            raise InputError(path, f"{where}.runs names a kind outside 'kinds' or has a run of no pages")
        if int(runs[:, 1].sum()) != pages:
            raise InputError(path, f"{where}.runs cover {int(runs[:, 1].sum())} pages; the area has {pages}")
        out.append({"when": m["when"], "request": m["request"], "pages_requested": m["pages_requested"],
                    "ok": m["ok"], "errno": err, "range": rng,
                    "kinds": np.repeat(runs[:, 0].astype(np.uint8), runs[:, 1])})
    return {"area": str(doc.get("area")), "base_pfn": base, "pages": pages,
            "names": list(names), "maps": out}


def check_area_map(amap, path, allocs):
    """Each map's request is the record of that index in cmabench's result."""
    for i, m in enumerate(amap["maps"]):
        j = m["request"]
        if j >= len(allocs):
            raise InputError(path, f"maps[{i}].request is {j}; the result has {len(allocs)} allocations")
        if m["pages_requested"] != int(allocs.size[j]) or m["ok"] != bool(allocs.ok[j]):
            raise InputError(path, f"maps[{i}] ({m['pages_requested']} pages, "
                             f"{'ok' if m['ok'] else 'failed'}) is not allocation {j} of the result "
                             f"({int(allocs.size[j])} pages, {'ok' if allocs.ok[j] else 'failed'})")


def check_copybw(doc, path, run):
    bw = doc.get("bytes_per_s")
    if isinstance(bw, bool) or not isinstance(bw, (int, float)) or bw <= 0:
        raise InputError(path, f"'bytes_per_s' is {json.dumps(bw)}, not a positive number")
    run.meta["copy_bytes_per_s"] = float(bw)
    run.meta["copy"] = doc


JOIN_SLACK_NS = 1e6    # clock noise between a request's start and its trace record's


def _match_trace(allocs, trace, order):
    """Trace rows (indices into ``order``) for the benchmark's records, or None.

    The trace may hold more allocations than the benchmark asked for (the
    occupancy fill places itself with allocations of its own). Both tables
    count time from their own first row, so the two clocks differ by one
    offset: the trace time of the first request. It is the candidate (a
    trace row like the first request) under which the most requests find a
    trace row of their size and outcome starting while user space waited
    for them, and then the one under which those rows start closest to the
    requests. Each request takes the unused row of its size and outcome
    that starts closest to it within its wait; every request must have one."""
    t = trace.t_ns[order]
    bt, blat = allocs.t_ns, allocs.latency_ns
    if not (np.isfinite(t).all() and np.isfinite(bt).all()):
        return None
    wait = np.where(np.isfinite(blat), blat, 0.0)
    keys = {}
    for j, k in enumerate(zip(trace.size[order].tolist(), trace.status[order].tolist())):
        keys.setdefault(k, []).append(j)
    keys = {k: np.asarray(v, dtype=np.int64) for k, v in keys.items()}   # each in time order
    want = list(zip(allocs.size.tolist(), allocs.status.tolist()))
    first = int(np.argmin(bt))
    if want[first] not in keys:
        return None

    def window(i, off):
        """Rows like request i that start while it ran (clock offset off)."""
        rows = keys.get(want[i])
        if rows is None:
            return rows, 0, 0
        lo = bt[i] + off - JOIN_SLACK_NS
        return rows, np.searchsorted(t[rows], lo), np.searchsorted(t[rows], lo + wait[i] + 2 * JOIN_SLACK_NS, "right")

    sample = np.unique(np.linspace(0, len(allocs) - 1, min(len(allocs), 64)).astype(np.int64))
    best, best_score = None, None
    for j in keys[want[first]][:2000]:
        off = t[j] - bt[first]
        n, dist = 0, 0.0
        for i in sample:
            rows, a, b = window(i, off)
            if a < b:
                n += 1
                dist += float(np.min(np.abs(t[rows[a:b]] - bt[i] - off)))
        score = (n, -dist)
        if best_score is None or score > best_score:
            best, best_score = off, score
    used = np.zeros(len(order), dtype=bool)
    rows_out = np.empty(len(allocs), dtype=np.int64)
    for i in np.argsort(bt, kind="stable"):
        rows, a, b = window(i, best)
        if rows is None:
            return None
        c = rows[a:b][~used[rows[a:b]]]
        if not len(c):
            return None
        j = c[np.argmin(np.abs(t[c] - bt[i] - best))]
        used[j] = True
        rows_out[i] = j
    return rows_out


def join_trace(allocs, trace):
    """Give the benchmark's records the trace's detail (phases, migrated pages,
    blocking reason) when the trace holds the same allocations: the same
    requests in the same order, possibly among others of the run's own (see
    _match_trace). Returns True when joined."""
    if trace is None or not len(allocs) or len(trace) < len(allocs):
        return False
    order = np.argsort(trace.t_ns, kind="stable") if np.isfinite(trace.t_ns).all() else np.arange(len(trace))
    if len(trace) == len(allocs) and np.array_equal(trace.size[order], allocs.size):
        rows = np.arange(len(allocs))
    else:
        rows = _match_trace(allocs, trace, order)
        if rows is None:
            return False
    order = order[rows]
    own_migrated = allocs.migrated if "migrated" in allocs else None
    for col in ("isolate_ns", "drain_ns", "migrate_ns", "test_ns", "migrated", "block_pfn", "block_kind"):
        allocs.columns[col] = trace[col][order]
    if own_migrated is not None:
        allocs.columns["migrated"] = np.where(np.isfinite(allocs.migrated), allocs.migrated, own_migrated)
    r = trace.reason[order]
    allocs.columns["block_reason"] = r   # also of requests that succeeded after a busy range
    own = allocs.reason
    allocs.columns["reason"] = np.where((own < 0) & (allocs.status == 1), r, own).astype(np.int8)
    if not allocs.has("retries"):
        allocs.columns["retries"] = trace.retries[order]
    return True


# --------------------------------------------------------------------------
# BPF collectors (docs/bpf.md)

def check_bpf(doc, path):
    if not isinstance(doc, dict):
        raise InputError(path, "the document is not a JSON object")
    for tool in ("cmalat", "cmafail", "cmamigrate"):
        v = doc.get(tool)
        if v is not None and not isinstance(v, dict):
            raise InputError(path, f"'{tool}' is neither an object nor null")
    lat = doc.get("cmalat")
    if isinstance(lat, dict):
        hists = lat.get("histograms", [])
        if not isinstance(hists, list) or not all(isinstance(h, dict) for h in hists):
            raise InputError(path, "'cmalat.histograms' is not a list of objects")
        for i, h in enumerate(hists):
            slots = h.get("slots", [])
            if not isinstance(slots, list) or not all(
                    isinstance(x, list) and len(x) == 3 and all(isinstance(v, int) for v in x) for x in slots):
                raise InputError(path, f"'cmalat.histograms[{i}].slots' is not a list of [lo, hi, count]")
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
    for f in _json_files(run.path):
        schema, doc = _first_schema(f)
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
            run.allocs = load_cmabench(f, run)
            run.alloc_source = "cmabench"
        elif kind == "cmatrace":
            if doc is None:
                run.trace = load_cmatrace_jsonl(f, schema)
            elif doc.get("type") == "summary":
                run.trace_summary = check_cmatrace_summary(doc, f)
            else:
                raise InputError(f, f"cmatrace document of type {json.dumps(doc.get('type'))}; "
                                 "expected records (.jsonl) or a summary")
        elif kind == "copybw":
            check_copybw(doc if doc is not None else {}, f, run)
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
    join_bpf_reasons(run)
    return run


def join_bpf_reasons(run):
    """Failed allocations with no blocking reason yet take it from the BPF
    cmafail records when those are the same failures: as many, same sizes in
    the same order."""
    t = run.allocs
    fail = (run.bpf.get("bpf") or {}).get("cmafail")
    if not isinstance(fail, dict) or not isinstance(fail.get("records"), list) or not len(t):
        return False
    recs = [r for r in fail["records"] if isinstance(r, dict) and r.get("errno")]
    idx = np.flatnonzero(t.failed)
    if not len(idx) or len(recs) != len(idx) or (t.reason[idx] >= 0).all() and \
            (t.reason[idx] != reason_code("none")).all():
        return False
    if [r.get("pages") for r in recs] != [int(x) for x in t.size[idx]]:
        return False
    codes = _reasons([r.get("reason") or "none" for r in recs])
    keep = (t.reason[idx] >= 0) & (t.reason[idx] != reason_code("none"))
    t.columns["reason"][idx] = np.where(keep, t.reason[idx], codes)
    return True


def find_runs(path):
    """Run directories under PATH: PATH itself if it holds results, else its
    subdirectories that do (one level), sorted by name."""
    if not os.path.isdir(path):
        raise InputError(path, "no such directory" if not os.path.exists(path) else "not a directory")
    if has_results(path):
        return [path]
    subs = [os.path.join(path, n) for n in sorted(os.listdir(path))]
    return [s for s in subs if os.path.isdir(s) and has_results(s)]
