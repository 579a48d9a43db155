# SPDX-License-Identifier: GPL-2.0
"""regress: one `make regress` invocation's verdicts from its manifest and the
results store; PASS for a kernel against itself, FAIL naming the scenario and
metric for a 20% slower candidate, exit 2 and nothing written for bad input."""

import json
import os

import pytest

from conftest import cli
from regress_fixture import make_regress, release, write_manifest

OUTPUTS = ("verdict.json", "verdict.html", "index.html", "kcidb.json")


def _regress(rdir, store, tmp_path, *extra):
    return cli("regress", rdir, "--store", store, "--dashboard", tmp_path / "dash", "--no-reports", *extra)


def test_kernel_against_itself_passes(tmp_path):
    # the same release on both sides: the sides come from the manifest, not the store
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.0, "gcma-table": 1.0},
                                    base_hash="aaaa11112222", cand_hash="aaaa11112222")
    assert man["base"]["release"] == man["cand"]["release"]
    assert len(os.listdir(os.path.join(store, "smoke", man["base"]["release"]))) == 6
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    v = json.load(open(os.path.join(rdir, "verdict.json")))
    assert v["schema"] == "cmakit.regress-verdict/1.0" and v["status"] == "PASS"
    assert v["regressions"] == [] and v["problems"] == []
    for scen in ("smoke", "gcma-table"):
        s = json.load(open(os.path.join(rdir, scen, "verdict.json")))
        assert s["schema"] == "cmakit.verdict/1.0" and s["status"] == "PASS"
        assert s["base"]["runs"] != s["candidate"]["runs"] and len(s["candidate"]["runs"]) == 3
        assert v["scenarios"][scen] == {"status": "PASS", "verdict": f"{scen}/verdict.json",
                                        "html": f"{scen}/verdict.html", "runs": {"base": 3, "cand": 3},
                                        "regressions": [], "problems": []}
        assert "PASS" in open(os.path.join(rdir, scen, "verdict.html")).read()
    for f in OUTPUTS:
        assert os.path.getsize(os.path.join(rdir, f)) > 0
    index = open(os.path.join(rdir, "index.html")).read()
    assert 'href="smoke/verdict.html"' in index and 'href="kcidb.json"' in index
    assert "regress 20261201-093000-4242: PASS" in r.stdout


def test_slower_candidate_fails_naming_scenario_and_metric(tmp_path):
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.2, "pinned": 1.0}, relative=True)
    assert any(not os.path.isabs(p) for p in man["scenarios"]["smoke"]["base"])
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    v = json.load(open(os.path.join(rdir, "verdict.json")))
    assert v["status"] == "FAIL"
    assert v["scenarios"]["smoke"]["status"] == "FAIL" and v["scenarios"]["pinned"]["status"] == "PASS"
    regs = v["regressions"]
    assert regs and all(x["scenario"] == "smoke" for x in regs)
    assert all(x["metric"].startswith("latency_") and x["change"] > 0.10 for x in regs)
    for x in regs:     # the summary names each regressed scenario and metric
        assert f"REGRESSION smoke {x['metric']}:" in r.stdout
    assert "FAIL  smoke" in r.stdout and "PASS  pinned" in r.stdout
    s = json.load(open(os.path.join(rdir, "smoke", "verdict.json")))
    assert sorted(s["regressions"]) == sorted(x["metric"] for x in regs)
    assert s["base"]["kernels"] == [release("aaaa11112222")]
    assert s["candidate"]["kernels"] == [release("bbbb33334444")]


def test_threshold_option_overrides_the_manifest(tmp_path):
    rdir, store, _ = make_regress(tmp_path, scenarios={"smoke": 1.2})
    r = _regress(rdir, store, tmp_path, "--threshold", "200")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.load(open(os.path.join(rdir, "verdict.json")))["threshold"] == 2.0


def test_too_few_runs_is_error(tmp_path):
    rdir, store, _ = make_regress(tmp_path, scenarios={"smoke": 1.0}, runs=(2, 3))
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "scenario 'smoke'" in lines[0] and "at least 3" in lines[0]
    # the ERROR verdict is written, so a dashboard sees it
    v = json.load(open(os.path.join(rdir, "verdict.json")))
    assert v["status"] == "ERROR" and v["scenarios"]["smoke"]["status"] == "ERROR"
    kc = json.load(open(os.path.join(rdir, "kcidb.json")))
    assert {t["status"] for t in kc["tests"]} & {"ERROR"}


def test_fail_outranks_error(tmp_path):
    # kcidb's order: a regression found in one scenario is reported (exit 1)
    # even when another could not be compared
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.2, "pinned": 1.0})
    man["scenarios"]["pinned"]["cand"] = man["scenarios"]["pinned"]["cand"][:2]
    write_manifest(rdir, man)
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "scenario 'pinned'" in r.stderr
    v = json.load(open(os.path.join(rdir, "verdict.json")))
    assert v["status"] == "FAIL" and v["scenarios"]["pinned"]["status"] == "ERROR"


def _break(kind, rdir, store, man):
    """Damage the invocation one way; returns the words the error must contain."""
    mpath = os.path.join(rdir, "manifest.json")
    smoke = man["scenarios"]["smoke"]
    if kind == "no-manifest":
        os.remove(mpath)
        return "no manifest"
    if kind == "empty":
        open(mpath, "w").close()
        return "empty file"
    if kind == "truncated":
        text = open(mpath).read()
        open(mpath, "w").write(text[:len(text) // 2])
        return "invalid JSON"
    if kind == "major":
        man["schema"] = "cmakit.regress/2.0"
    elif kind == "no-schema":
        del man["schema"]
    elif kind == "no-release":
        del man["cand"]["release"]
        write_manifest(rdir, man)
        return "'cand.release'"
    elif kind == "no-scenarios":
        man["scenarios"] = {}
        write_manifest(rdir, man)
        return "'scenarios'"
    elif kind == "runs-not-list":
        smoke["cand"] = smoke["cand"][0]
        write_manifest(rdir, man)
        return "not a list of run directories"
    elif kind == "listed-twice":
        smoke["cand"][0] = smoke["base"][0]
        write_manifest(rdir, man)
        return "listed twice"
    elif kind == "missing-run":
        smoke["base"][1] = os.path.join(store, "smoke", "nope")
        write_manifest(rdir, man)
        return "no such directory"
    elif kind == "wrong-kernel":
        smoke["base"], smoke["cand"] = smoke["cand"], smoke["base"]
        write_manifest(rdir, man)
        return "listed as a baseline run of " + man["base"]["release"]
    elif kind == "unreadable-run":
        p = os.path.join(smoke["cand"][2], "result.json")
        text = open(p).read()
        open(p, "w").write(text[:len(text) // 3])
        return "result.json"
    elif kind == "bad-threshold":
        man["threshold"] = "10%"
        write_manifest(rdir, man)
        return "'threshold'"
    elif kind == "no-store":
        return "the results store"
    write_manifest(rdir, man)
    return "schema"


BAD = ("no-manifest", "empty", "truncated", "major", "no-schema", "no-release", "no-scenarios",
       "runs-not-list", "listed-twice", "missing-run", "wrong-kernel", "unreadable-run",
       "bad-threshold", "no-store")


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, kind):
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.0}, n=60)
    words = _break(kind, rdir, store, man)
    if kind == "no-store":
        store = os.path.join(str(tmp_path), "no-store")
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("analysis: "), r.stderr
    assert words in lines[0], lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert sorted(os.listdir(rdir)) == ([] if kind == "no-manifest" else ["manifest.json"])
    assert not os.path.exists(tmp_path / "dash")


def test_no_such_regress_dir(tmp_path):
    r = cli("regress", tmp_path / "none", "--dashboard", tmp_path / "dash")
    assert r.returncode == 2 and "no such directory" in r.stderr
    assert not os.path.exists(tmp_path / "dash")


def test_bad_url_is_usage_error(tmp_path):
    r = cli("regress", tmp_path, "--url", "results/regress")
    assert r.returncode == 2 and "not an absolute URL" in r.stderr


def test_refreshes_the_dashboard_from_the_store(tmp_path):
    # an earlier invocation's runs are in the store too: the dashboard shows all of them
    make_regress(tmp_path, scenarios={"smoke": 1.0}, n=80, rid="20261130-080000-1111",
                 base_hash="0000aaaa0000", cand_hash="aaaa11112222", seed=7)
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.3, "pinned": 1.0}, n=80)
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    dash = tmp_path / "dash"
    assert f"regress: dashboard {dash / 'index.html'}" in r.stdout
    index = (dash / "index.html").read_text()
    assert 'href="smoke.html"' in index and 'href="pinned.html"' in index
    data = json.load(open(dash / "dashboard.json"))
    smoke = data["scenarios"]["smoke"]
    assert smoke["kernels"] == [release("0000aaaa0000"), release("aaaa11112222"), release("bbbb33334444")]
    assert len(smoke["runs"]) == 12 and len(data["scenarios"]["pinned"]["runs"]) == 6
    assert smoke["verdicts"][release("bbbb33334444")]["status"] == "FAIL"
    assert {run["kernel"] for run in smoke["runs"]} == set(smoke["kernels"])
    v = json.load(open(os.path.join(rdir, "verdict.json")))
    assert os.path.isfile(os.path.join(rdir, v["dashboard"]))
    assert release("bbbb33334444") in (dash / "smoke.html").read_text()


def test_real_runs_of_the_board(tmp_path):
    # the real run captured on the board (fixtures/real-smoke), stored six times as
    # make regress stores it: its own result names the release the manifest must give
    import shutil
    from conftest import FIXTURES
    real = os.path.join(FIXTURES, "real-smoke")
    with open(os.path.join(real, "result.json")) as f:
        rel = json.load(f)["run"]["kernel"]["release"]
    store = tmp_path / "store"
    rdir = tmp_path / "regress" / "r1"
    rdir.mkdir(parents=True)
    sides = {"base": [], "cand": []}
    for i in range(3):
        for side in sides:
            d = store / "smoke" / rel / f"r1-{side}{i + 1}"
            shutil.copytree(real, d)
            sides[side].append(str(d))
    k = {"variant": "cmakit", "release": rel, "arch": "x86_64"}
    man = {"schema": "cmakit.regress/1.0", "id": "r1", "base": k, "cand": dict(k),
           "scenarios": {"smoke": sides}}
    write_manifest(rdir, man)
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    v = json.load(open(rdir / "verdict.json"))
    assert v["status"] == "PASS" and v["scenarios"]["smoke"]["runs"] == {"base": 3, "cand": 3}
    # the manifest naming another kernel for the candidate is caught
    man["cand"]["release"] = rel.replace("-cmakit-", "-stock-")
    write_manifest(rdir, man)
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 2 and f"a run of kernel {rel}, listed as a candidate run of" in r.stderr


def _scramble_board_clock(man):
    """The boards' own 'started', as an icount clock can leave them: every
    candidate's before every baseline's. The host's times alternate."""
    for scen in man["scenarios"].values():
        for side, sign in (("base", 1), ("cand", -1)):
            for i, p in enumerate(scen[side]):
                f = os.path.join(p, "result.json")
                doc = json.load(open(f))
                host = doc["run"]["started"]
                doc["run"]["started"] = f"2026-12-0{2 + sign}T0{i}:00:00Z"
                json.dump(doc, open(f, "w"))
                with open(os.path.join(p, "host-started"), "w") as h:
                    h.write(host.replace("+00:00", "Z") + "\n")


def test_alternating_runs_are_compared_in_pairs(tmp_path):
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.0}, n=60)
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.load(open(os.path.join(rdir, "smoke", "verdict.json")))
    assert s["design"] == "paired" and len(s["pairs"]) == 3


def test_the_hosts_time_orders_the_runs_not_the_boards(tmp_path):
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.0}, n=60)
    _scramble_board_clock(man)
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    s = json.load(open(os.path.join(rdir, "smoke", "verdict.json")))
    assert s["design"] == "paired" and len(s["pairs"]) == 3
    # without host-started the boards' clock decides, and the runs no longer alternate
    for scen in man["scenarios"].values():
        for p in scen["base"] + scen["cand"]:
            os.unlink(os.path.join(p, "host-started"))
    r = _regress(rdir, store, tmp_path)
    s = json.load(open(os.path.join(rdir, "smoke", "verdict.json")))
    assert s["design"] != "paired"


def test_bad_host_started_is_one_line(tmp_path):
    rdir, store, man = make_regress(tmp_path, scenarios={"smoke": 1.0}, n=60)
    p = man["scenarios"]["smoke"]["cand"][1]
    with open(os.path.join(p, "host-started"), "w") as h:
        h.write("yesterday\n")
    r = _regress(rdir, store, tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "host-started" in lines[0] and "not an ISO 8601 time" in lines[0], r.stderr
