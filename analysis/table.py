# SPDX-License-Identifier: GPL-2.0
"""The per-allocation table every loader produces and every view reads.

One row per ``cma_alloc()`` call, one numpy array per column, whatever file the
rows came from. Unknown values are NaN (float columns) or -1 (codes).

Columns (all arrays have the same length):

=============  ========  ==================================================
``t_ns``       float64   start time, ns since the first allocation of the run
``size``       int64     pages requested
``align``      int64     alignment order
``latency_ns`` float64   end-to-end latency (NaN: unfinished)
``status``     int8      0 ok, 1 failed, 2 unfinished (``STATUS``)
``errno``      int32     0 or -errno (0 also for unfinished)
``reason``     int8      index into ``REASONS`` of the blocking page, -1 none
``retries``    float64   busy retries (NaN: unknown)
``isolate_ns`` ...       phase times, summed over attempts (NaN: unknown)
``drain_ns``, ``migrate_ns``, ``test_ns``
``migrated``   float64   pages migrated for the allocation (NaN: unknown)
``occupancy``  float64   fraction of the area in use before the allocation
``mix_<kind>`` float64   fraction of the area's pages of that kind before it
=============  ========  ==================================================
"""

import errno as _errno

import numpy as np

STATUS = ("ok", "failed", "unfinished")
REASONS = ("pinned", "writeback", "dirty", "locked", "unmovable",
           "isolate_failed", "free_race", "injected", "unknown", "none")
PHASES = ("isolate", "drain", "migrate", "test")
PAGE_SIZE = 4096

FLOAT_COLUMNS = ("t_ns", "latency_ns", "retries", "isolate_ns", "drain_ns",
                 "migrate_ns", "test_ns", "migrated", "occupancy")
COLUMNS = {
    "t_ns": np.float64, "size": np.int64, "align": np.int64,
    "latency_ns": np.float64, "status": np.int8, "errno": np.int32,
    "reason": np.int8, "retries": np.float64, "isolate_ns": np.float64,
    "drain_ns": np.float64, "migrate_ns": np.float64, "test_ns": np.float64,
    "migrated": np.float64, "occupancy": np.float64,
}


def errno_name(code):
    """'EBUSY' for -16 (or 16); 'E<n>' for numbers the C library does not name."""
    n = abs(int(code))
    return _errno.errorcode.get(n, f"E{n}")


def reason_code(name):
    """Index of a blocking reason in REASONS; 'unknown' for names not in the list."""
    if name is None:
        return -1
    try:
        return REASONS.index(name)
    except ValueError:
        return REASONS.index("unknown")


class Table:
    """Columns of equal length; ``t.latency_ns``, ``t["mix_anon"]``, ``len(t)``."""

    def __init__(self, columns):
        n = None
        for name, arr in columns.items():
            if n is None:
                n = len(arr)
            elif len(arr) != n:
                raise ValueError(f"column {name} has {len(arr)} rows, not {n}")
        self.columns = dict(columns)
        self.n = n or 0

    @classmethod
    def empty(cls):
        return cls({k: np.zeros(0, dtype=v) for k, v in COLUMNS.items()})

    @classmethod
    def concat(cls, tables):
        tables = [t for t in tables if t is not None]
        if not tables:
            return cls.empty()
        names = []
        for t in tables:
            names += [k for k in t.columns if k not in names]
        out = {}
        for k in names:
            parts = []
            for t in tables:
                if k in t.columns:
                    parts.append(t.columns[k])
                else:
                    parts.append(np.full(t.n, np.nan))
            out[k] = np.concatenate(parts)
        return cls(out)

    def __len__(self):
        return self.n

    def __getattr__(self, name):
        try:
            return self.__dict__["columns"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name):
        return self.columns[name]

    def __contains__(self, name):
        return name in self.columns

    def has(self, name):
        """The column exists and holds at least one known value."""
        c = self.columns.get(name)
        if c is None or len(c) == 0:
            return False
        if c.dtype.kind == "f":
            return bool(np.isfinite(c).any())
        return True

    def mix_kinds(self):
        return [k[4:] for k in self.columns if k.startswith("mix_") and self.has(k)]

    def select(self, mask):
        return Table({k: v[mask] for k, v in self.columns.items()})

    @property
    def ok(self):
        return self.columns["status"] == 0

    @property
    def failed(self):
        return self.columns["status"] == 1

    @property
    def finished(self):
        return self.columns["status"] != 2
