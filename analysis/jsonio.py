# SPDX-License-Identifier: GPL-2.0
"""Reading the tools' files: one JSON document, or a JSONL file in batches;
writing a result file whole or not at all.

Every problem is an ``InputError`` naming the file and, for JSONL, the line:
an unreadable or empty file, bytes that are not UTF-8, invalid JSON, a
document cut short, a JSONL line that is not a JSON object.
"""

import contextlib
import gc
import itertools
import json
import os

from .errors import InputError

JSONL_BATCH = 65536    # lines parsed per json.loads


def write_text(path, text):
    """Write PATH whole or not at all: a reader never sees half a file, and a
    failed write leaves no PATH.tmp behind. Creates PATH's directory."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path, doc, **kw):
    """A JSON document as write_text writes text (indent 1 unless told)."""
    kw.setdefault("indent", 1)
    write_text(path, json.dumps(doc, **kw) + "\n")


@contextlib.contextmanager
def paused_gc():
    """The cycle collector paused: decoding JSON and building columns from it
    makes no reference cycles, and with a large document's records alive every
    collection walks them all (a third of the load time of 300,000 records)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_json(path):
    """The one JSON document in PATH."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(path, e.strerror or str(e)) from None
    if not data.strip():
        raise InputError(path, "file is empty")
    try:
        with paused_gc():
            return json.loads(data)
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        if e.pos >= len(data.rstrip()) - 1:
            raise InputError(path, f"truncated JSON (ends at line {e.lineno} before the document is complete)") from None
        raise InputError(path, f"line {e.lineno} column {e.colno}: invalid JSON: {e.msg}") from None


def bad_line(path, lineno, line, last):
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
                with paused_gc():
                    recs = json.loads(b"[" + b",".join(keep) + b"]") if keep else []
                if len(recs) != len(keep):
                    raise ValueError
            except (ValueError, UnicodeDecodeError):
                for i, ln in enumerate(batch):
                    if ln.isspace():
                        continue
                    try:
                        rec = json.loads(ln)
                    except (ValueError, UnicodeDecodeError):
                        raise bad_line(path, lineno + i, ln, last and i == len(batch) - 1) from None
                    if not isinstance(rec, dict):
                        raise InputError(path, f"line {lineno + i}: a record is not a JSON object")
                raise InputError(path, f"lines {lineno}-{lineno + len(batch) - 1}: invalid JSON") from None
            # a last line that parses but has no newline is a whole record: accepted
            seen = seen or bool(recs)
            yield lineno, recs
            lineno += len(batch)
        if not seen:
            raise InputError(path, "file is empty" if lineno == 1 else "no records (only blank lines)")


def first_schema(path):
    """(schema, document) of a .json or .jsonl file: the document's (or the
    first JSONL record's) "schema" member, None when it has none; the
    document itself for .json, None for .jsonl (read later in batches)."""
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
            raise bad_line(path, 1, line, not line.endswith(b"\n")) from None
        doc = None
    else:
        rec = doc = read_json(path)
    if not isinstance(rec, dict):
        raise InputError(path, "the document is not a JSON object")
    if "schema" not in rec:
        return None, doc
    return rec["schema"], doc
