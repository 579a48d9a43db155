# SPDX-License-Identifier: GPL-2.0
"""The command line: report, compare, regress, dashboard, summary, synth.

Exit status: 0 success (compare, regress: no significant regression), 1
compare or regress found a significant regression beyond the threshold, 2 bad
input or usage, or regress could not compare (one line on stderr:
``analysis: FILE: PROBLEM``).
"""

import argparse
import os
import re
import sys

from .errors import InputError

EPILOG = """examples:
  python3 -m analysis report results/20250101-120000-abcd1234
  python3 -m analysis compare results/base results/cand --threshold 10 --json verdict.json
  python3 -m analysis regress results/regress/20261201-093000-4242
  python3 -m analysis dashboard results/store results/dashboard
  python3 -m analysis synth /tmp/run --seed 1 --allocations 1000

exit status: 0 ok, 1 compare/regress found a regression, 2 bad input or usage
(regress: could not compare)"""


def _report(a):
    from .runs import load_run
    from .report import write_report
    run = load_run(a.run_dir)
    out = a.output or os.path.join(a.run_dir, "report.html")
    text_out = a.text or os.path.join(os.path.dirname(os.path.abspath(out)), "summary.txt")
    text = write_report(run, out, text_out)
    if not a.quiet:
        sys.stdout.write(text)
        print(f"report: {out}")
    return 0


def _summary(a):
    from .runs import load_run
    from .report import text_summary
    sys.stdout.write(text_summary(load_run(a.run_dir)))
    return 0


def _compare(a):
    """Exit status 0 PASS, 1 FAIL, 2 ERROR."""
    import json
    from .compare import clean_json, compare_dirs
    verdict, base_runs, cand_runs = compare_dirs(a.base_dir, a.cand_dir, threshold=a.threshold / 100.0,
                                                 alpha=a.alpha, min_runs=a.min_runs)
    if a.json:
        text = json.dumps(clean_json(verdict), indent=1, allow_nan=False) + "\n"
        if a.json == "-":
            sys.stdout.write(text)
        else:
            with open(a.json, "w") as f:
                f.write(text)
    if a.output:
        from .report import html_verdict
        os.makedirs(os.path.dirname(os.path.abspath(a.output)), exist_ok=True)
        with open(a.output, "w") as f:
            f.write(html_verdict(verdict, base_runs, cand_runs))
    if not a.quiet and a.json != "-":
        for r in verdict["metrics"]:
            if r["status"] in ("FAIL",) or r["note"]:
                print(f"{r['status']:5} {r['name']}: {r['note']}")
        print(f"compare: {verdict['status']} ({len(base_runs)} baseline, {len(cand_runs)} candidate runs, "
              f"{len(verdict['regressions'])} regressions)")
    if verdict["status"] == "ERROR":
        print(f"analysis: {a.cand_dir}: {'; '.join(verdict['problems'])}", file=sys.stderr)
        return 2
    return 1 if verdict["status"] == "FAIL" else 0


def _regress(a):
    from .regress import run_regress
    return run_regress(a.regress_dir, store=a.store, dashboard=a.dashboard, alpha=a.alpha,
                       min_runs=a.min_runs,
                       threshold=None if a.threshold is None else a.threshold / 100.0,
                       base_url=a.url, reports=not a.no_reports, quiet=a.quiet)


def _dashboard(a):
    from .dashboard import build_dashboard
    index = build_dashboard(a.store_dir, a.out_dir, threshold=a.threshold / 100.0, alpha=a.alpha,
                            reports=not a.no_reports)
    if not a.quiet:
        print(f"dashboard: {index}")
    return 0


def _synth(a):
    from .tests.synth import write_run
    write_run(a.out_dir, seed=a.seed, n=a.allocations, latency_scale=a.latency_scale,
              scenario=a.scenario, kernel_hash=a.kernel_hash, trace=not a.no_trace)
    return 0


def _checked(convert, what, ok, need):
    """An argparse type: CONVERT the string (else "is not WHAT"), then OK(value)
    must hold (else NEED)."""
    def parse(s):
        try:
            v = convert(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{s}' is not {what}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"'{s}' {need}")
        return v
    return parse


_positive_int = _checked(int, "an integer", lambda v: v >= 1, "must be at least 1")
_fraction = _checked(float, "a number", lambda v: 0 < v < 1, "must be between 0 and 1")
_percent = _checked(float, "a number", lambda v: v >= 0, "must not be negative")


def _url(s):
    import urllib.parse
    u = urllib.parse.urlsplit(s)
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*$", u.scheme or "") or not (u.netloc or u.scheme == "file"):
        raise argparse.ArgumentTypeError(f"'{s}' is not an absolute URL (https://host/path/)")
    return s


def parser():
    p = argparse.ArgumentParser(prog="cmakit-analysis", description="Reports, verdicts and dashboards "
                                "over cmakit results (cmabench, cmatrace, BPF collectors).",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print nothing but errors")

    r = sub.add_parser("report", parents=[common], help="HTML report and text summary of one run directory")
    r.add_argument("run_dir")
    r.add_argument("-o", "--output", help="HTML file (default RUN_DIR/report.html)")
    r.add_argument("--text", help="text summary file (default summary.txt beside the HTML)")
    r.set_defaults(func=_report)

    s = sub.add_parser("summary", parents=[common], help="print the text summary of one run directory")
    s.add_argument("run_dir")
    s.set_defaults(func=_summary)

    c = sub.add_parser("compare", parents=[common], help="baseline vs candidate verdict (3+ runs each)")
    c.add_argument("base_dir", help="the baseline: a directory of run directories")
    c.add_argument("cand_dir", help="the candidate: a directory of run directories")
    c.add_argument("--threshold", type=_percent, default=10.0,
                   help="smallest change, in percent, that counts as a regression (default 10)")
    c.add_argument("--alpha", type=_fraction, default=0.05,
                   help="significance level of the one-sided Mann-Whitney U test (default 0.05)")
    c.add_argument("--min-runs", type=_positive_int, default=3, help="runs needed on each side (default 3)")
    c.add_argument("-o", "--output", help="HTML page (default: none)")
    c.add_argument("--json", help="verdict JSON (default: none; '-' for stdout)")
    c.set_defaults(func=_compare)

    g = sub.add_parser("regress", parents=[common],
                       help="verdicts, kcidb document and dashboard of one `make regress` invocation")
    g.add_argument("regress_dir", help="the invocation's directory: holds manifest.json (ci/regress.sh)")
    g.add_argument("--store", help="the results store the dashboard is built from (default results/store)")
    g.add_argument("--dashboard", help="the dashboard's directory (default results/dashboard)")
    g.add_argument("--threshold", type=_percent, default=None,
                   help="smallest change, in percent, that counts as a regression (default: the manifest's)")
    g.add_argument("--alpha", type=_fraction, default=0.05, help="as for compare (default 0.05)")
    g.add_argument("--min-runs", type=_positive_int, default=3, help="runs needed on each side (default 3)")
    g.add_argument("--url", type=_url, help="base URL the invocation's directory is published at, for the kcidb "
                   "document's output_files (default: file:// URLs)")
    g.add_argument("--no-reports", action="store_true", help="do not render missing run reports in the dashboard")
    g.set_defaults(func=_regress)

    d = sub.add_parser("dashboard", parents=[common], help="static trend site over a store of runs")
    d.add_argument("store_dir")
    d.add_argument("out_dir")
    d.add_argument("--threshold", type=_percent, default=10.0, help="as for compare (default 10)")
    d.add_argument("--alpha", type=_fraction, default=0.05, help="as for compare (default 0.05)")
    d.add_argument("--no-reports", action="store_true", help="do not render missing run reports")
    d.set_defaults(func=_dashboard)

    y = sub.add_parser("synth", parents=[common], help="write a seeded synthetic run (tests, benchmarks)")
    y.add_argument("out_dir")
    y.add_argument("--seed", type=int, default=1)
    y.add_argument("--allocations", type=_positive_int, default=500)
    y.add_argument("--latency-scale", type=float, default=1.0)
    y.add_argument("--scenario", default="default")
    y.add_argument("--kernel-hash", default="0123abcd")
    y.add_argument("--no-trace", action="store_true", help="write no cmatrace records")
    y.set_defaults(func=_synth)
    return p


def main(argv=None):
    p = parser()
    a = p.parse_args(argv)
    try:
        return a.func(a)
    except InputError as e:
        print(f"analysis: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
