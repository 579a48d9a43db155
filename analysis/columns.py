# SPDX-License-Identifier: GPL-2.0
"""Numpy columns from a batch of JSON records, checked as they are built.

One comprehension per column and batch; a value of the wrong type or a
missing required field is an ``InputError`` naming the record (``line N`` of
a JSONL file, or the WHERE a caller substitutes for it) and the field.
"""

import json

import numpy as np

from .errors import InputError
from .table import reason_code


def num(recs, key, path, first, dtype=np.float64, required=False):
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


def sub(recs, obj, key):
    """[r[obj][key]] with None where r[obj] is null or absent."""
    out = []
    for r in recs:
        o = r.get(obj)
        out.append(o.get(key) if isinstance(o, dict) else None)
    return out


def sub_num(recs, obj, key, path, first):
    vals = sub(recs, obj, key)
    try:
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(vals):
            if v is not None and not isinstance(v, (int, float)):
                raise InputError(path, f"line {first + i}: '{obj}.{key}' is {json.dumps(v)}, not a number") from None
        raise


_STATUS = {"ok": 0, "failed": 1, "unfinished": 2}


def status(recs, path, first):
    try:
        return np.array([_STATUS[r["status"]] for r in recs], dtype=np.int8)
    except (KeyError, TypeError):
        for i, r in enumerate(recs):
            if r.get("status") not in _STATUS:
                raise InputError(path, f"line {first + i}: 'status' is {json.dumps(r.get('status'))}, "
                                 "not ok, failed or unfinished") from None
        raise


def reasons(values):
    cache = {}
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        c = cache.get(v)
        if c is None:
            c = cache[v] = reason_code(v)
        out[i] = c
    return out


def boolean(recs, key, path, first, where="allocation"):
    vals = [r.get(key) for r in recs]
    try:
        arr = np.array(vals, dtype=bool)
        if any(type(v) is not bool for v in vals):
            raise TypeError
        return arr
    except (TypeError, ValueError):
        for i, v in enumerate(vals):
            if type(v) is not bool:
                raise InputError(path, f"{where} {first + i}: '{key}' is {json.dumps(v)}, not true/false") from None
        raise


def fast_numbers(recs, getter, width):
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

