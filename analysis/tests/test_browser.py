# SPDX-License-Identifier: GPL-2.0
"""A real browser opens a generated report: every image loads, no console
errors. The screenshot is kept in build/test/analysis-report.png."""

import json
import os
import shutil

import pytest

from conftest import ROOT, cli
from cdp import CHROMIUM, IMAGES_JS, VIEWS_JS, Browser

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason="chromium is not installed (make deps)")


def _check(path):
    with Browser() as b:
        b.open("file://" + os.path.abspath(path))
        imgs = json.loads(b.evaluate(IMAGES_JS))
        views = json.loads(b.evaluate(VIEWS_JS))
        errors = b.errors()
        shot = os.path.join(ROOT, "build", "test", "analysis-report.png")
        os.makedirs(os.path.dirname(shot), exist_ok=True)
        b.screenshot(str(path) + ".png")
    return imgs, views, errors, shot


def test_report_in_chromium(small_run):
    assert cli("report", small_run).returncode == 0
    imgs, views, errors, shot = _check(small_run / "report.html")
    assert len(imgs) == 10
    broken = [i for i in imgs if not i["complete"] or i["width"] == 0]
    assert not broken, broken
    assert errors == []
    # every view shows its figure (the glance is text)
    assert [v["id"] for v in views if v["images"] == 1 and not v["nodata"]] == \
        [v["id"] for v in views if v["id"] != "view-glance"]
    shutil.copyfile(str(small_run / "report.html") + ".png", shot)
    assert os.path.getsize(shot) > 50000


def test_checker_sees_broken_images_and_errors(tmp_path):
    """The same checks fail on a page with a broken image and a console error."""
    p = tmp_path / "bad.html"
    p.write_text('<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
                 '<script>console.error("boom")</script></body></html>')
    with Browser() as b:
        b.open("file://" + str(p))
        imgs = json.loads(b.evaluate(IMAGES_JS))
        errors = b.errors()
    assert imgs and imgs[0]["width"] == 0
    assert any("boom" in e for e in errors)


def test_views_without_data_in_chromium(tmp_path):
    """A run without trace, failures, copy floor or BPF: those views show
    their sentence, the others their figure, and nothing is broken."""
    from analysis.tests.synth import write_run
    d = write_run(tmp_path / "bare", seed=4, n=30, trace=False, fail_scale=0)
    for f in ("copybw.json", "bpf.json"):
        os.remove(os.path.join(d, f))
    assert cli("report", d).returncode == 0
    imgs, views, errors, _ = _check(tmp_path / "bare" / "report.html")
    assert errors == [] and all(i["complete"] and i["width"] for i in imgs)
    said = sorted(v["id"][5:] for v in views if v["nodata"] and not v["images"])
    assert said == ["blocking", "bpf", "copyfloor", "failures", "phases"], views
    drawn = sorted(v["id"][5:] for v in views if v["images"] == 1 and not v["nodata"])
    assert drawn == ["areamap", "latency", "occupancy", "pagemix", "timeline"], views
