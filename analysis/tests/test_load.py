# SPDX-License-Identifier: GPL-2.0
"""Loaders: good input loads with the right numbers, bad input gives one line
naming the file and the problem, and exit status 2."""

import json
import os

import numpy as np
import pytest

from conftest import FIXTURES, cli
from analysis.errors import InputError
from analysis.runs import load_run


def test_fixture_matches_generator(tmp_path):
    """The committed fixtures are exactly what the seeded generator writes."""
    from fixtures.generate import main
    main(str(tmp_path))
    for name in ("run-small", "run-gcma"):
        for f in sorted(os.listdir(os.path.join(FIXTURES, name))):
            with open(os.path.join(FIXTURES, name, f), "rb") as a, open(tmp_path / name / f, "rb") as b:
                assert a.read() == b.read(), f"{name}/{f} differs from the generator's output"


def test_small_run_loads(small_run):
    run = load_run(small_run)
    doc = json.load(open(small_run / "result.json"))
    recs = doc["allocations"]
    assert run.alloc_source == "cmabench"
    assert len(run.allocs) == len(recs) == doc["summary"]["allocations"]
    assert int(run.allocs.ok.sum()) == sum(r["ok"] for r in recs)
    assert np.array_equal(run.allocs.size, [r["pages"] for r in recs])
    assert np.array_equal(run.allocs.latency_ns, [r["user_ns"] for r in recs])
    assert np.array_equal(-run.allocs.errno, [r["errno"] for r in recs])
    assert run.scenario == "default" and run.kernel_hash == "0123abcd"
    assert run.joined, "cmatrace detail joined to the benchmark's records"
    assert run.allocs.has("migrate_ns") and run.allocs.has("migrated")
    assert run.copy_bw == 590e6
    amap = json.load(open(small_run / "areamap.json"))
    assert [m["when"] for m in run.area_map["maps"]] == [m["when"] for m in amap["maps"]]
    for m, want in zip(run.area_map["maps"], amap["maps"]):
        assert len(m["kinds"]) == doc["areas"][0]["pages"]
        assert m["request"] == want["request"] and m["ok"] == recs[m["request"]]["ok"]
        # the runs, decoded page by page
        assert np.array_equal(m["kinds"], np.repeat([k for k, _ in want["runs"]], [n for _, n in want["runs"]]))
    assert run.bpf["bpf"]["cmalat"]["allocations"] == len(recs)


def test_trace_only_run(small_run):
    os.remove(small_run / "result.json")
    run = load_run(small_run)
    assert run.alloc_source == "cmatrace"
    n = sum(1 for _ in open(small_run / "cmatrace.jsonl"))
    assert len(run.allocs) == n
    st = json.load(open(small_run / "cmatrace-summary.json"))
    assert int(run.allocs.failed.sum()) == st["failed"]


def test_newer_minor_and_unknown_fields_accepted(small_run):
    p = small_run / "result.json"
    doc = json.load(open(p))
    doc["schema"] = "cmakit.cmabench/1.7"
    doc["some_new_field"] = {"x": 1}
    for r in doc["allocations"]:
        r["new_per_record"] = [1, 2]
    json.dump(doc, open(p, "w"))
    assert len(load_run(small_run).allocs) == len(doc["allocations"])


def _bad(run_dir, fname, expect):
    """The CLI refuses the run: exit 2, one stderr line naming FNAME and EXPECT."""
    r = cli("report", run_dir)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert fname in lines[0] and expect in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    assert not os.path.exists(os.path.join(run_dir, "report.html"))


def _edit_json(run_dir, name, fn):
    """Change the JSON document NAME of RUN_DIR in place with FN(doc)."""
    p = run_dir / name
    doc = json.load(open(p))
    fn(doc)
    json.dump(doc, open(p, "w"))


def _edit_result(run_dir, fn):
    _edit_json(run_dir, "result.json", fn)


def test_truncated_result(small_run):
    p = small_run / "result.json"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _bad(small_run, "result.json", "truncated")


def test_empty_result(small_run):
    (small_run / "result.json").write_bytes(b"")
    _bad(small_run, "result.json", "empty")


def test_invalid_json_result(small_run):
    p = small_run / "result.json"
    p.write_text(p.read_text().replace('"ok":true', '"ok":tru', 1))
    _bad(small_run, "result.json", "invalid JSON")


def test_wrong_major(small_run):
    _edit_result(small_run, lambda d: d.update(schema="cmakit.cmabench/2.0"))
    _bad(small_run, "result.json", "major version 2")


def test_bad_schema_string(small_run):
    _edit_result(small_run, lambda d: d.update(schema="cmabench-1"))
    _bad(small_run, "result.json", "not of the form")


def test_summary_count_mismatch(small_run):
    _edit_result(small_run, lambda d: d["allocations"].pop())
    _bad(small_run, "result.json", "records are present")


def test_missing_required_field(small_run):
    _edit_result(small_run, lambda d: d["allocations"][3].pop("pages"))
    _bad(small_run, "result.json", "allocation 3: required field 'pages'")


def test_wrong_type(small_run):
    _edit_result(small_run, lambda d: d["allocations"][5].update(ok="yes"))
    _bad(small_run, "result.json", "allocation 5: 'ok' is \"yes\"")


def test_ok_with_errno(small_run):
    _edit_result(small_run, lambda d: d["allocations"][0].update(ok=True, errno=16))
    _bad(small_run, "result.json", "'ok' is true but 'errno' is 16")


def _write_records(run_dir, edit=None, keep_array=True):
    """cmabench's allocations.jsonl beside result.json: its array's records,
    one per line, passed through EDIT(records) first."""
    p = run_dir / "result.json"
    doc = json.load(open(p))
    recs = [dict(r) for r in doc["allocations"]]
    if edit:
        edit(recs)
    with open(run_dir / "allocations.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in recs)
    if not keep_array:
        del doc["allocations"]
        json.dump(doc, open(p, "w"))
    return doc["summary"]["allocations"], recs


def test_allocations_jsonl_read_first(small_run):
    """allocations.jsonl, when present, is where the records are read from."""
    want = load_run(small_run).allocs

    def slower(recs):
        recs[0]["user_ns"] += 1000

    n, recs = _write_records(small_run, slower)
    run = load_run(small_run)
    assert len(run.allocs) == n
    assert run.allocs.latency_ns[0] == want.latency_ns[0] + 1000 == recs[0]["user_ns"]
    assert np.array_equal(run.allocs.latency_ns[1:], want.latency_ns[1:])
    assert str(small_run / "allocations.jsonl") in [f for f, _ in run.sources]
    assert run.joined


def test_allocations_jsonl_without_array(small_run):
    want = load_run(small_run).allocs
    _write_records(small_run, keep_array=False)
    got = load_run(small_run).allocs
    assert set(got.columns) == set(want.columns)
    for k in want.columns:
        assert np.array_equal(got[k], want[k], equal_nan=got[k].dtype.kind == "f"), k


def _edit_line(path, index, old, new, *more):
    """Replace OLD by NEW (and further OLD, NEW pairs) in line INDEX of PATH."""
    lines = path.read_text().splitlines(True)
    pairs = (old, new) + more
    for a, b in zip(pairs[::2], pairs[1::2]):
        lines[index] = lines[index].replace(a, b)
    path.write_text("".join(lines))


def _break_line_3(run_dir):
    _edit_line(run_dir / "allocations.jsonl", 2, '"ok": ', '"ok": ,')


@pytest.mark.parametrize("edit, keep_array, after, expect", [
    (None, True, _break_line_3, "line 3: invalid JSON"),
    (lambda recs: recs[3].pop("pages"), False, None, "line 4: required field 'pages'"),
    (lambda recs: recs[1].update(ok="yes"), False, None, "line 2: 'ok' is \"yes\""),
    (lambda recs: recs.pop(), True, None, "records, but the 'allocations' of"),
    (None, False, lambda d: (d / "allocations.jsonl").write_text(""), "empty"),
], ids=["bad-line", "missing-field", "wrong-type", "count-differs", "empty"])
def test_allocations_jsonl_refused(small_run, edit, keep_array, after, expect):
    """A bad allocations.jsonl is named with its line, like any JSONL file."""
    _write_records(small_run, edit, keep_array)
    if after:
        after(small_run)
    _bad(small_run, "allocations.jsonl", expect)


def test_jsonl_truncated_last_line(small_run):
    p = small_run / "cmatrace.jsonl"
    data = p.read_bytes()
    p.write_bytes(data[:-40])
    n = data.count(b"\n")
    _bad(small_run, "cmatrace.jsonl", f"line {n}: truncated record")


def test_jsonl_bad_line(small_run):
    _edit_line(small_run / "cmatrace.jsonl", 2, '"type":"alloc"', '"type":"alloc",,')
    _bad(small_run, "cmatrace.jsonl", "line 3: invalid JSON")


def test_jsonl_schema_changes(small_run):
    _edit_line(small_run / "cmatrace.jsonl", 4, "cmakit.cmatrace/1.0", "cmakit.cmatrace/1.1")
    _bad(small_run, "cmatrace.jsonl", "line 5: schema")


def test_jsonl_empty(small_run):
    (small_run / "cmatrace.jsonl").write_text("")
    _bad(small_run, "cmatrace.jsonl", "empty")


def test_jsonl_bad_status(small_run):
    _edit_line(small_run / "cmatrace.jsonl", 1, '"status":"ok"', '"status":"maybe"',
               '"status":"failed"', '"status":"maybe"')
    _bad(small_run, "cmatrace.jsonl", "line 2: 'status'")


def test_not_utf8(small_run):
    (small_run / "copybw.json").write_bytes(b'{"schema": "cmakit.copybw/1.0", "x": "\xff\xfe"}')
    _bad(small_run, "copybw.json", "UTF-8")


def test_bad_copy_bandwidth(small_run):
    (small_run / "copybw.json").write_text('{"schema": "cmakit.copybw/1.0", "bytes_per_s": -1}')
    _bad(small_run, "copybw.json", "not a positive number")


def test_bad_bpf_histogram(small_run):
    p = small_run / "bpf.json"
    doc = json.load(open(p))
    doc["cmalat"]["histograms"][1]["slots"] = [[1, 2]]
    json.dump(doc, open(p, "w"))
    _bad(small_run, "bpf.json", "'cmalat.histograms[1].slots'")


def test_empty_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    _bad(tmp_path / "empty", "empty", "no cmakit results")


def test_missing_directory(tmp_path):
    _bad(tmp_path / "nope", "nope", "no such directory")


def test_unknown_kind_is_ignored_with_a_note(small_run):
    (small_run / "other.json").write_text('{"schema": "cmakit.somethingelse/3.0"}')
    r = cli("report", small_run)
    assert r.returncode == 0
    assert "other.json" in r.stderr and "ignored" in r.stderr


def test_loader_error_type(small_run):
    (small_run / "result.json").write_text("[1, 2]")
    with pytest.raises(InputError) as e:
        load_run(small_run)
    assert e.value.path.endswith("result.json")


def test_bpf_failure_reasons_join(small_run):
    """Without cmatrace, the BPF cmafail records name the blocking page of
    each failure when they are the same failures."""
    os.remove(small_run / "cmatrace.jsonl")
    doc = json.load(open(small_run / "result.json"))
    fails = [r for r in doc["allocations"] if not r["ok"]]
    assert fails, "the fixture has failures"
    p = small_run / "bpf.json"
    b = json.load(open(p))
    b["cmafail"] = {"tool": "cmafail", "path": "patched", "unavailable": [], "failures": len(fails),
                    "retried": 0, "lost": 0,
                    "records": [{"pages": r["pages"], "errno": -r["errno"], "reason": "writeback"} for r in fails]}
    json.dump(b, open(p, "w"))
    from analysis.summary import failures_by_reason
    assert failures_by_reason(load_run(small_run).allocs) == [("writeback", len(fails))]
    # a different set of failures is not joined
    b["cmafail"]["records"] = b["cmafail"]["records"][:-1]
    json.dump(b, open(p, "w"))
    assert ("writeback", len(fails)) not in failures_by_reason(load_run(small_run).allocs)


def _fill_record(like, seq, ts, count, latency):
    """A trace record of the occupancy fill's own: same shape as ``like``."""
    r = dict(like, seq=seq, count=count, ts_start_ns=ts, ts_finish_ns=ts + latency,
             latency_ns=latency, kernel_elapsed_ns=latency, status="ok", errno=0,
             errno_name=None, blocking=None)
    r["phases"] = dict(like["phases"], migrate_ns=1)
    return r


def _with_fill(run_dir, extra):
    """Add fill allocations to the trace: extra(records) returns the new ones."""
    p = run_dir / "cmatrace.jsonl"
    recs = [json.loads(line) for line in p.read_text().splitlines()]
    recs += extra(recs)
    recs.sort(key=lambda r: r["ts_start_ns"])
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return recs


def test_join_skips_the_fills_own_allocations(small_run):
    want = load_run(small_run)
    # before the first request and between each: 256 pages, or a request's
    # size that ends too late to be the request user space timed
    def extra(recs):
        out = []
        for i, r in enumerate(recs):
            out.append(_fill_record(r, 1000 + 2 * i, r["ts_start_ns"] - 3000000, 256, 100000))
            out.append(_fill_record(r, 1001 + 2 * i, r["ts_start_ns"] - 2000000, r["count"],
                                    r["latency_ns"] * 3 + 5000000))
        return out
    recs = _with_fill(small_run, extra)
    run = load_run(small_run)
    assert len(run.trace) == len(recs) == 3 * len(want.allocs)
    assert run.joined, "the requests are found among the fill's allocations"
    for col in ("migrate_ns", "isolate_ns", "migrated"):
        assert np.array_equal(run.allocs[col], want.allocs[col], equal_nan=True), col
    assert np.array_equal(run.allocs.reason, want.allocs.reason)


def test_join_refuses_a_trace_of_other_allocations(small_run):
    # a request the trace does not hold: no join, rather than a wrong one
    p = small_run / "cmatrace.jsonl"
    lines = p.read_text().splitlines(True)
    del lines[5]
    p.write_text("".join(lines))
    _with_fill(small_run, lambda recs: [_fill_record(r, 1000 + i, r["ts_start_ns"] - 3000000, 256, 100000)
                                        for i, r in enumerate(recs)])
    run = load_run(small_run)
    assert not run.joined
    assert not run.allocs.has("migrate_ns")


def test_join_refuses_drifting_clocks(small_run):
    # every request has a same-size allocation in the trace, but half of them
    # 300 ms from where the benchmark's clock puts them
    p = small_run / "cmatrace.jsonl"
    recs = [json.loads(line) for line in p.read_text().splitlines()]
    for r in recs[len(recs) // 2:]:
        r["ts_start_ns"] += 300000000
        r["ts_finish_ns"] += 300000000
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    _with_fill(small_run, lambda recs: [_fill_record(recs[0], 1000, recs[0]["ts_start_ns"] - 3000000, 256, 100000)])
    run = load_run(small_run)
    assert not run.joined


def _edit_map(run_dir, fn):
    _edit_json(run_dir, "areamap.json", fn)


def test_area_map_wrong_major(small_run):
    _edit_map(small_run, lambda d: d.update(schema="cmakit.areamap/3.0"))
    _bad(small_run, "areamap.json", "major version 3")


def test_area_map_runs_do_not_cover_the_area(small_run):
    _edit_map(small_run, lambda d: d["maps"][1]["runs"].pop())
    _bad(small_run, "areamap.json", "maps[1].runs cover")


def test_area_map_bad_kind(small_run):
    _edit_map(small_run, lambda d: d["maps"][0]["runs"][0].__setitem__(0, 6))
    _bad(small_run, "areamap.json", "maps[0].runs names a kind outside")


def test_area_map_bad_when(small_run):
    _edit_map(small_run, lambda d: d["maps"][2].update(when="middle"))
    _bad(small_run, "areamap.json", "maps[2].when is \"middle\"")


def test_area_map_range_outside_the_area(small_run):
    _edit_map(small_run, lambda d: d["maps"][0]["range"].update(pfn=d["base_pfn"] + d["pages"]))
    _bad(small_run, "areamap.json", "maps[0].range")


def test_area_map_request_not_in_the_result(small_run):
    _edit_map(small_run, lambda d: d["maps"][2].update(request=10 ** 6))
    _bad(small_run, "areamap.json", "maps[2].request is 1000000; the result has")


def test_area_map_request_is_another_allocation(small_run):
    # the first failure's map pointed at a request that succeeded
    _edit_map(small_run, lambda d: d["maps"][1].update(request=0))
    _bad(small_run, "areamap.json", "is not allocation 0 of the result")


def test_area_map_1x_is_set_aside(small_run):
    """The board's old before/after maps (1.x) showed an empty area: they are
    not drawn, and the report says why, instead of refusing the run."""
    (small_run / "areamap.json").write_text(json.dumps(
        {"schema": "cmakit.areamap/1.0", "area": "reserved",
         "before": {"base_pfn": 0, "kinds": ["free"], "runs": [[0, 65536]]}}))
    run = load_run(small_run)
    assert run.area_map is None
    assert [why for _, why in run.ignored] == ["area map 1.x, taken before and after the benchmark"]
    r = cli("report", small_run)
    assert r.returncode == 0, r.stderr
    html = (small_run / "report.html").read_text()
    assert "area map is of the old format (1.x)" in html
