# SPDX-License-Identifier: GPL-2.0
"""One reader per kind of document a run directory holds, each returning
checked columns or a checked structure:

- cmatrace's per-allocation JSONL (docs/cmatrace.md): a ``Table``;
- cmabench's result (docs/results.md): its allocations as a ``Table`` (from
  ``allocations.jsonl`` when the run has it, else the document's
  ``allocations`` array), the run's metadata and the area's composition;
- cmabench's area map (``cmakit.areamap/2.x``): one page kind per pfn.

The schema checks of the small documents (copy bandwidth, BPF, cmatrace's
summary) are in ``schema.py``; reading files is ``jsonio.py``.
"""

import json
import operator

import numpy as np

from . import columns as C
from .errors import InputError
from .jsonio import JSONL_BATCH, iter_jsonl, paused_gc
from .schema import check_schema
from .table import PHASES, Table, reason_code

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
    start = C.num(recs, "ts_start_ns", path, first)
    cols["t_ns"] = start
    cols["size"] = C.num(recs, "count", path, first, np.int64, required=True)
    cols["align"] = np.nan_to_num(C.num(recs, "align", path, first)).astype(np.int64)
    cols["latency_ns"] = C.num(recs, "latency_ns", path, first)
    cols["status"] = st = C.status(recs, path, first)
    cols["errno"] = np.nan_to_num(C.num(recs, "errno", path, first)).astype(np.int32)
    cols["errno"][st == 2] = 0
    cols["reason"] = C.reasons(C.sub(recs, "blocking", "reason"))
    cols["retries"] = C.num(recs, "retries", path, first)
    for ph in PHASES:
        cols[ph + "_ns"] = C.sub_num(recs, "phases", ph + "_ns", path, first)
    mig = C.sub_num(recs, "migrate", "migrated", path, first)
    mm = C.sub_num(recs, "mm_migrate", "succeeded", path, first)
    cols["migrated"] = np.where(np.isnan(mig), mm, mig)
    cols["occupancy"] = np.full(len(recs), np.nan)
    cols["block_pfn"] = C.sub_num(recs, "blocking", "pfn", path, first)
    cols["block_kind"] = _block_kinds(C.sub(recs, "blocking", "flags"))
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


# --------------------------------------------------------------------------
# cmabench (docs/results.md)

MIX_PARTITION = ("free", "cma", "anon", "shmem", "file", "other")
MIX_SHOWN = ("anon", "file", "shmem", "other", "thp", "dirty", "writeback")
_REQUIRED = ("t_ns", "pages", "user_ns", "errno")
_REQ_GET = operator.itemgetter(*_REQUIRED)
_MIX_KEYS = tuple(sorted(set(MIX_PARTITION + MIX_SHOWN)))
_MIX_GET = operator.itemgetter(*_MIX_KEYS)


def _cmabench_records(recs, path, first, where):
    """Columns from cmabench allocation records (docs/results.md, 'allocations');
    a problem names the record as WHERE FIRST+i ("allocation 3", "line 4")."""
    for i, r in enumerate(recs):
        if not isinstance(r, dict):
            raise InputError(path, f"{where} {first + i} is not a JSON object")
    cols = {}

    def num(key, required=False):
        try:
            return C.num(recs, key, path, first, required=required)
        except InputError as e:
            raise InputError(path, e.problem.replace("line ", where + " ", 1)) from None

    req = C.fast_numbers(recs, _REQ_GET, len(_REQUIRED))
    if req is None:
        req = np.column_stack([num(k, required=True) for k in _REQUIRED])
    cols["t_ns"] = req[:, 0]
    cols["size"] = req[:, 1].astype(np.int64)
    cols["latency_ns"] = req[:, 2]
    err = req[:, 3]
    cols["align"] = np.nan_to_num(num("align")).astype(np.int64)
    ok = C.boolean(recs, "ok", path, first, where)
    cols["errno"] = -np.abs(err).astype(np.int32)
    cols["status"] = np.where(ok, 0, 1).astype(np.int8)
    bad = ok & (err != 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(path, f"{where} {first + i}: 'ok' is true but 'errno' is {int(err[i])}")
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
    cols["occupancy"] = C.sub_num(fake, "o", "used", path, first)
    if any(p.__class__ is dict for p in pages):
        mix = None
        if all(p.__class__ is dict for p in pages):
            mix = C.fast_numbers(pages, _MIX_GET, len(_MIX_KEYS))
        if mix is not None:
            counts = {k: mix[:, j] for j, k in enumerate(_MIX_KEYS)}
        else:
            fake = [{"p": p if p.__class__ is dict else None} for p in pages]
            counts = {k: C.sub_num(fake, "p", k, path, first) for k in _MIX_KEYS}
        total = sum(np.nan_to_num(counts[k]) for k in MIX_PARTITION)
        total[total == 0] = np.nan
        for k in MIX_SHOWN:
            cols["mix_" + k] = counts[k] / total
        cols["mix_free"] = counts["free"] / total
        cols["mix_cma"] = counts["cma"] / total
    return Table(cols)


def _composition(recs_pages):
    return {k: v for k, v in recs_pages.items() if isinstance(v, (int, float))}


def load_cmabench(doc, path, records_path=None):
    """cmabench's result document DOC (read from PATH): returns (allocations
    Table, run metadata, {"before"/"after": the area's page counts}). The
    allocation records are read from RECORDS_PATH (allocations.jsonl, the
    same objects one per line) when given, else from DOC's 'allocations'."""
    parts = []
    ends = {}

    def add(recs, src, first, where):
        if recs:
            ends.setdefault("first", recs[0])
            ends["last"] = recs[-1]
            parts.append(_cmabench_records(recs, src, first, where))
        return len(recs)

    array = doc.get("allocations")
    n = 0
    if records_path is not None:
        for first, recs in iter_jsonl(records_path):
            with paused_gc():
                n += add(recs, records_path, first, "line")
    elif isinstance(array, list):
        with paused_gc():
            for first in range(0, len(array), JSONL_BATCH):
                n += add(array[first:first + JSONL_BATCH], path, first, "allocation")
    check_schema(doc.get("schema"), path)
    meta = doc.get("run")
    if not isinstance(meta, dict):
        raise InputError(path, "'run' is missing or not an object")
    if records_path is None:
        if "allocations" not in doc:
            raise InputError(path, "no 'allocations' in the cmabench result")
        if not isinstance(array, list):
            raise InputError(path, "'allocations' is not a list of records")
    elif isinstance(array, list) and len(array) != n:
        raise InputError(records_path, f"{n} records, but the 'allocations' of {path} holds {len(array)}")
    out = {}
    scen = meta.get("scenario")
    out["scenario"] = scen.get("name") if isinstance(scen, dict) else None
    kern = meta.get("kernel") if isinstance(meta.get("kernel"), dict) else {}
    out["kernel"] = kern.get("release")
    out["kernel_hash"] = kern.get("series_hash")
    out["patched"] = kern.get("patched")
    for key in ("id", "started", "finished", "duration_s", "status", "error", "board", "backend",
                "config", "pressure", "inject", "tool_version"):
        if key in meta:
            out[key] = meta[key]
    cfg = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    areas = doc.get("areas") if isinstance(doc.get("areas"), list) else []
    for a in areas:
        if isinstance(a, dict) and a.get("name") == cfg.get("area"):
            out["area"] = {"name": a.get("name"), "base_pfn": a.get("base_pfn"),
                           "count": a.get("pages")}
    board = meta.get("board") if isinstance(meta.get("board"), dict) else {}
    if isinstance(board.get("page_size"), int):
        out["page_size"] = board["page_size"]
    summ = doc.get("summary")
    if isinstance(summ, dict):
        out["summary"] = summ
        want = summ.get("allocations")
        if isinstance(want, int) and want != n:
            raise InputError(path, f"the summary counts {want} allocations but {n} records are present"
                             + (f" in {records_path}" if records_path is not None else ""))
    counters = doc.get("counters")
    if isinstance(counters, dict):
        out["counters"] = counters
    bw = meta.get("copy_bytes_per_s")
    if isinstance(bw, (int, float)) and bw > 0:
        out["copy_bytes_per_s"] = float(bw)
    # occupancy before the first and after the last request: the area's composition
    composition = {}
    for key, which in (("before", "first"), ("after", "last")):
        r = ends.get(which)
        occ = r.get("occupancy") if isinstance(r, dict) else None
        if isinstance(occ, dict) and isinstance(occ.get("pages"), dict):
            composition[key] = _composition(occ["pages"])
    return (Table.concat(parts) if parts else Table.empty()), out, composition


# --------------------------------------------------------------------------
# cmabench's area map (docs/results.md)

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

