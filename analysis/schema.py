# SPDX-License-Identifier: GPL-2.0
"""What the documents must be: the schema string and the checks of each kind.

Every document names its format in ``"schema": "cmakit.<kind>/<major>.<minor>"``.
The major versions in ``SUPPORTED`` are read (any minor: minors only add
fields, and fields this code does not know are ignored). The checks here
refuse a document with an ``InputError`` naming the file and the problem.
"""

import json
import re

from .errors import InputError

SCHEMA_RE = re.compile(r"^cmakit\.([a-z0-9_-]+)/(\d+)\.(\d+)$")

# kind -> supported major version
SUPPORTED = {"cmabench": 1, "cmatrace": 1, "copybw": 1, "areamap": 2}
# The BPF collectors' document (docs/bpf.md): cmacollect writes "cmakit.bpf/1.x".
BPF_KINDS = ("bpf",)
for _k in BPF_KINDS:
    SUPPORTED.setdefault(_k, 1)


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


def check_cmatrace_summary(doc, path):
    for key in ("allocations", "ok", "failed"):
        if not isinstance(doc.get(key), int):
            raise InputError(path, f"cmatrace summary: '{key}' is missing or not an integer")
    return doc


def check_copybw(doc, path):
    """The copy bandwidth document (analysis.board copybw); returns bytes per second."""
    bw = doc.get("bytes_per_s")
    if isinstance(bw, bool) or not isinstance(bw, (int, float)) or bw <= 0:
        raise InputError(path, f"'bytes_per_s' is {json.dumps(bw)}, not a positive number")
    return float(bw)


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

