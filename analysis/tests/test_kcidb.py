# SPDX-License-Identifier: GPL-2.0
"""kcidb.json: valid under the KCIDB I/O schema v5.3's rules (the JSON Schema
in fixtures/kcidb/, derived from kernelci/kcidb-io kcidb_io/schema/v05_03.py),
one checkout and one build per side, one test per scenario metric, stable
unique ids, and the validator itself rejects what the rules forbid."""

import copy
import json
import os
import re
import urllib.parse
import urllib.request

import pytest

from conftest import FIXTURES, cli
from regress_fixture import make_regress
from analysis import kcidb

try:
    import jsonschema
except ImportError:           # a missing dependency fails the tests, it does not skip them
    jsonschema = None

SCHEMA = os.path.join(FIXTURES, "kcidb", "v05_03.schema.json")


@pytest.fixture(scope="module")
def validator():
    if jsonschema is None:
        pytest.fail("python3-jsonschema is not installed (make deps: ci/packages.d/analysis.txt)")
    with open(SCHEMA) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    checker = jsonschema.draft7_format_checker
    # without python3-rfc3987 the "uri" format would silently pass anything
    assert "uri" in checker.checkers, "jsonschema cannot check URIs: install python3-rfc3987 (make deps)"
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def _errors(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """One invocation with a 20% slower candidate in one of two scenarios."""
    tmp = tmp_path_factory.mktemp("kcidb")
    rdir, store, man = make_regress(tmp, scenarios={"smoke": 1.2, "gcma-table": 1.0})
    r = cli("regress", rdir, "--store", store, "--dashboard", tmp / "dash", "--no-reports")
    assert r.returncode == 1, r.stdout + r.stderr
    with open(os.path.join(rdir, "kcidb.json")) as f:
        doc = json.load(f)
    return rdir, store, man, doc, tmp


def _nulls(v, where=""):
    if v is None:
        return [where]
    if isinstance(v, dict):
        return [p for k, x in v.items() for p in _nulls(x, f"{where}/{k}")]
    if isinstance(v, list):
        return [p for i, x in enumerate(v) for p in _nulls(x, f"{where}/{i}")]
    return []


def test_valid_under_the_kcidb_rules(validator, failing):
    doc = failing[3]
    assert _errors(validator, doc) == []
    assert doc["version"] == {"major": 5, "minor": 3}
    assert _nulls(doc) == []


def test_objects_and_ids(failing):
    rdir, _, man, doc, _ = failing
    assert len(doc["checkouts"]) == 2 and len(doc["builds"]) == 2
    for kind in ("checkouts", "builds", "tests"):
        ids = [o["id"] for o in doc[kind]]
        assert len(ids) == len(set(ids)), f"{kind}: ids not unique"
        for o in doc[kind]:
            assert o["origin"] == "cmakit" and o["id"].startswith("cmakit:")
    checkouts = {c["id"]: c for c in doc["checkouts"]}
    builds = {b["misc"]["side"]: b for b in doc["builds"]}
    assert set(builds) == {"base", "cand"}
    for side, b in builds.items():
        assert b["checkout_id"] in checkouts
        assert checkouts[b["checkout_id"]]["misc"]["release"] == man[side]["release"] == b["misc"]["release"]
        assert b["architecture"] == "x86_64" and b["status"] == "PASS"
    # every test is a metric of the candidate, compared with the baseline
    assert {t["build_id"] for t in doc["tests"]} == {builds["cand"]["id"]}


def test_one_test_per_scenario_metric(failing):
    rdir, _, man, doc, _ = failing
    by_path = {t["path"]: t for t in doc["tests"]}
    assert len(by_path) == len(doc["tests"])
    n = 0
    for scen in man["scenarios"]:
        with open(os.path.join(rdir, scen, "verdict.json")) as f:
            v = json.load(f)
        for m in v["metrics"]:
            n += 1
            path = f"cmakit.{scen}.{kcidb.path_node(m['name'])}"
            t = by_path[path]
            assert t["status"] == m["status"] and t["misc"]["metric"] == m["name"]
            assert t["misc"]["scenario"] == scen
            if m["status"] == "DONE":
                assert isinstance(t["number"]["value"], (int, float))
            if m["status"] == "FAIL":
                assert scen == "smoke" and m["name"].startswith("latency_")
                assert t["number"]["unit"] == "s" and t["number"]["prefix"] == "metric"
                assert t["number"]["value"] == pytest.approx(m["candidate"]["median"] * 1e-9)
                assert "worse" in t["comment"]
            names = [f["name"] for f in t["output_files"]]
            assert names == ["verdict.html", "verdict.json"]
            for f in t["output_files"]:
                u = urllib.parse.urlsplit(f["url"])
                assert u.scheme == "file"
                assert os.path.isfile(urllib.request.url2pathname(u.path))
                assert urllib.request.url2pathname(u.path).startswith(os.path.join(rdir, scen))
    assert n == len(doc["tests"])
    statuses = {t["status"] for t in doc["tests"]}
    assert "FAIL" in statuses and "PASS" in statuses and "DONE" in statuses
    assert statuses <= {"FAIL", "ERROR", "PASS", "DONE", "SKIP"}
    # latency_p50[4MiB] and friends fit the path's characters
    assert any(re.fullmatch(r"cmakit\.smoke\.latency_p50_\d+MiB", p) for p in by_path)


def test_ids_are_stable_and_differ_by_side(tmp_path, failing):
    rdir, store, man, doc, tmp = failing
    # the same manifest again: the same ids
    r = cli("regress", rdir, "--store", store, "--dashboard", tmp / "dash", "--no-reports")
    assert r.returncode == 1
    with open(os.path.join(rdir, "kcidb.json")) as f:
        again = json.load(f)
    for kind in ("checkouts", "builds", "tests"):
        assert [o["id"] for o in again[kind]] == [o["id"] for o in doc[kind]]
    # a kernel against itself: one checkout and one build per side all the same, ids apart
    rd2, st2, m2 = make_regress(tmp_path, scenarios={"smoke": 1.0}, n=80,
                                base_hash="aaaa11112222", cand_hash="aaaa11112222")
    r = cli("regress", rd2, "--store", st2, "--dashboard", tmp_path / "dash", "--no-reports")
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(rd2, "kcidb.json")) as f:
        same = json.load(f)
    assert len({c["id"] for c in same["checkouts"]}) == 2 and len({b["id"] for b in same["builds"]}) == 2
    assert {c["misc"]["release"] for c in same["checkouts"]} == {m2["base"]["release"]}


def test_base_url(validator, tmp_path):
    rdir, store, _ = make_regress(tmp_path, scenarios={"smoke": 1.0}, n=80)
    r = cli("regress", rdir, "--store", store, "--dashboard", tmp_path / "dash", "--no-reports",
            "--url", "https://ci.example.org/jobs/42/regress/")
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(rdir, "kcidb.json")) as f:
        doc = json.load(f)
    assert _errors(validator, doc) == []
    urls = {f["url"] for t in doc["tests"] for f in t["output_files"]}
    assert urls == {"https://ci.example.org/jobs/42/regress/smoke/verdict.html",
                    "https://ci.example.org/jobs/42/regress/smoke/verdict.json"}


def test_error_tests_are_valid(validator, tmp_path):
    rdir, store, _ = make_regress(tmp_path, scenarios={"smoke": 1.0}, runs=(3, 2), n=80)
    r = cli("regress", rdir, "--store", store, "--dashboard", tmp_path / "dash", "--no-reports")
    assert r.returncode == 2
    with open(os.path.join(rdir, "kcidb.json")) as f:
        doc = json.load(f)
    assert _errors(validator, doc) == []
    assert "ERROR" in {t["status"] for t in doc["tests"]}


BREAK = {
    "null in misc": lambda d: d["tests"][0]["misc"].__setitem__("x", None),
    "null property": lambda d: d["builds"][0].__setitem__("comment", None),
    "status word": lambda d: d["tests"][0].__setitem__("status", "OK"),
    "id without origin": lambda d: d["tests"][0].__setitem__("id", "smoke-latency"),
    "origin case": lambda d: d["builds"][0].__setitem__("origin", "CMAkit"),
    "path characters": lambda d: d["tests"][0].__setitem__("path", "cmakit.smoke.latency_p50[4MiB]"),
    "no build_id": lambda d: d["tests"][0].pop("build_id"),
    "no checkout_id": lambda d: d["builds"][0].pop("checkout_id"),
    "no version": lambda d: d.pop("version"),
    "version 3": lambda d: d["version"].__setitem__("major", 3),
    "extra property": lambda d: d["tests"][0].__setitem__("metric", "latency_p50"),
    "number without value": lambda d: d["tests"][0].__setitem__("number", {"unit": "s"}),
    "relative url": lambda d: d["tests"][0]["output_files"][0].__setitem__("url", "smoke/verdict.html"),
    "name with a slash": lambda d: d["tests"][0]["output_files"][0].__setitem__("name", "smoke/verdict.html"),
    "start_time": lambda d: d["tests"][0].__setitem__("start_time", "1 Dec 2026"),
}


@pytest.mark.parametrize("what", sorted(BREAK))
def test_the_rules_reject(validator, failing, what):
    doc = copy.deepcopy(failing[3])
    assert _errors(validator, doc) == []
    BREAK[what](doc)
    assert _errors(validator, doc), f"{what}: accepted"


def test_helpers():
    assert kcidb.path_node("latency_p50[4MiB]") == "latency_p50_4MiB"
    assert kcidb.path_node("gcma-table") == "gcma-table"
    assert kcidb.path_node("[]") == "_"
    assert kcidb.number(1500.0, "ns") == {"value": 1.5e-6, "unit": "s", "prefix": "metric"}
    assert kcidb.number(0.5, "ratio") == {"value": 50.0, "unit": "%"}
    assert kcidb.number(float("nan"), "ns") is None
    assert kcidb.number(3, "count") == {"value": 3.0}
    assert kcidb.prune({"a": None, "b": [1, None, float("inf")], "c": {"d": None}}) == {"b": [1], "c": {}}
    assert kcidb.rfc3339("2026-12-01T09:30:00Z") == "2026-12-01T09:30:00+00:00"
    assert kcidb.rfc3339("2026-12-01T09:30:00") == "2026-12-01T09:30:00+00:00"
    assert kcidb.rfc3339("yesterday") is None


def test_no_runs_on_a_side_is_one_error_test(validator, tmp_path):
    rdir, store, _ = make_regress(tmp_path, scenarios={"smoke": 1.0, "pinned": 1.0}, n=60)
    with open(os.path.join(rdir, "manifest.json")) as f:
        man = json.load(f)
    man["scenarios"]["pinned"]["cand"] = []
    with open(os.path.join(rdir, "manifest.json"), "w") as f:
        json.dump(man, f)
    r = cli("regress", rdir, "--store", store, "--dashboard", tmp_path / "dash", "--no-reports")
    assert r.returncode == 2 and "scenario 'pinned'" in r.stderr, r.stdout + r.stderr
    with open(os.path.join(rdir, "kcidb.json")) as f:
        doc = json.load(f)
    assert _errors(validator, doc) == []
    pinned = [t for t in doc["tests"] if t["path"].startswith("cmakit.pinned")]
    assert [(t["path"], t["status"]) for t in pinned] == [("cmakit.pinned", "ERROR")]
    assert "at least 3" in pinned[0]["comment"]
    assert all(t["status"] in ("PASS", "DONE") for t in doc["tests"] if t["path"].startswith("cmakit.smoke."))
