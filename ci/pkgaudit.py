# SPDX-License-Identifier: GPL-2.0
"""Which Debian packages the programs in execve traces come from, and whether
a fresh machine has them after `make deps`.

usage: /usr/bin/python3 ci/pkgaudit.py [--base DIR]... [--table FILE] TRACE...

TRACE is `strace -f -e trace=execve` output (`-z`: successful calls only;
without it failed calls are skipped here). Every program executed, the
interpreter of every script among them and every step of a symlink chain
(/usr/bin/python3 -> python3.11, /bin -> /usr/bin) is looked up with dpkg -S.
A package is fine when it is

  - listed in ci/packages.txt or ci/packages.d/*.txt (CMAKIT_PACKAGES=FILE:
    that one list instead, as for ci/deps.sh),
  - a dependency of a listed package: Depends and Pre-Depends, recursively,
    the first alternative of each "a | b" (what apt installs on a machine
    that has neither), a virtual package through the installed packages
    that provide it, or
  - of priority required or important, or Essential (a fresh Debian
    machine has those before anything is installed).

Programs no package holds (the project's own scripts and build outputs)
are fine. A relative path is looked up below each --base DIR.

Output: one line per package that is not fine, "PACKAGE<TAB>PRIORITY<TAB>
PROGRAM[,PROGRAM...]", on stdout; with --table, every program, its
package and why that package is fine, in FILE. Exit status 0: every
package is fine; 1: some are not; 2: bad input (a trace that cannot be read
or has no execve in it, a list that cannot be read), with one line on
stderr.
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_PRIORITIES = ("required", "important")
# strace: 'PID execve("path", ["argv0", ...], ...) = 0' (PID with -f), or
# split in two: 'PID execve("path", ... <unfinished ...>' and later
# 'PID <... execve resumed>) = 0'
EXECVE = re.compile(r'^(?:\[pid\s+)?(\d*)\]?\s*(?:\d\d:\d\d:\S+\s+)?execve\("((?:[^"\\]|\\.)*)"(.*)$')
RESUMED = re.compile(r'^(?:\[pid\s+)?(\d*)\]?\s*(?:\d\d:\d\d:\S+\s+)?<\.\.\. execve resumed>(.*)$')
FAILED = re.compile(r"\)\s*=\s*-1\b|\?\s*$")
USRMERGE = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


class AuditError(Exception):
    pass


def unescape(s):
    """strace's C-style string escapes (\\", \\\\, \\n, \\ooo, \\xhh)."""
    out = bytearray()
    i = 0
    raw = s.encode("utf-8", "surrogateescape")
    while i < len(raw):
        c = raw[i]
        if c != 0x5C or i + 1 >= len(raw):
            out.append(c)
            i += 1
            continue
        n = chr(raw[i + 1])
        simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, '"': 34, "\\": 92}
        if n in simple:
            out.append(simple[n])
            i += 2
        elif n == "x":
            out.append(int(raw[i + 2 : i + 4], 16))
            i += 4
        elif n in "01234567":
            j = i + 1
            while j < len(raw) and j < i + 4 and chr(raw[j]) in "01234567":
                j += 1
            out.append(int(raw[i + 1 : j], 8) & 0xFF)
            i = j
        else:
            out.append(c)
            i += 1
    return out.decode("utf-8", "surrogateescape")


def executed(trace):
    """The paths of the successful execve calls in one strace file."""
    try:
        with open(trace, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise AuditError(f"pkgaudit: cannot read trace {trace}: {e.strerror}")
    paths = []
    pending = {}
    seen_execve = False
    for line in lines:
        m = EXECVE.match(line)
        if m:
            seen_execve = True
            pid, path, rest = m.group(1), unescape(m.group(2)), m.group(3)
            if rest.rstrip().endswith("<unfinished ...>"):
                pending[pid] = path
            elif not FAILED.search(rest):
                paths.append(path)
            continue
        m = RESUMED.match(line)
        if m and m.group(1) in pending:
            path = pending.pop(m.group(1))
            if not FAILED.search(m.group(2)):
                paths.append(path)
    if not seen_execve:
        raise AuditError(f"pkgaudit: {trace} has no execve in it (was it traced with -e trace=execve?)")
    return paths


def interpreter(path):
    """The interpreter of a #! script, and what /usr/bin/env runs."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return []
    if not head.startswith(b"#!"):
        return []
    words = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not words:
        return []
    out = [words[0]]
    if os.path.basename(words[0]) == "env":
        args = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if args:
            prog = args[0]
            if "/" not in prog:
                for d in "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".split(":"):
                    if os.access(os.path.join(d, prog), os.X_OK):
                        prog = os.path.join(d, prog)
                        break
            out.append(prog)
    return out


def chain(path):
    """path, each symlink it goes through (resolved one step at a time,
    directories included) and the file it ends at."""
    out = [path]
    seen = set()
    cur = path
    for _ in range(40):
        parts = cur.split("/")
        nxt = None
        for i in range(2, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if os.path.islink(prefix):
                target = os.readlink(prefix)
                base = os.path.dirname(prefix)
                nxt = os.path.normpath(os.path.join(base, target)) + ("/" + "/".join(parts[i:]) if parts[i:] else "")
                break
        if nxt is None or nxt in seen:
            break
        seen.add(nxt)
        out.append(nxt)
        cur = nxt
    return out


def aliases(path):
    """path and its /usr-merge twin (/bin/sh and /usr/bin/sh)."""
    out = [path]
    for d in USRMERGE:
        if path.startswith(d + "/"):
            out.append("/usr" + path)
        elif path.startswith("/usr" + d + "/"):
            out.append(path[4:])
    return out


def alternatives(name):
    """The choices of the alternative NAME (update-alternatives --list)."""
    r = subprocess.run(["update-alternatives", "--list", name], capture_output=True, text=True)
    return r.stdout.split()


def owners(paths):
    """{path: [package, ...]} for the paths dpkg knows (one dpkg -S)."""
    paths = sorted(set(p for p in paths if p.startswith("/") and not re.search(r"[*?\[\\]", p)))
    found = {}
    if not paths:
        return found
    r = subprocess.run(["dpkg-query", "-S"] + paths, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("diversion by"):
            continue
        pkgs, sep, p = line.partition(": ")
        if not sep:
            continue
        found.setdefault(p, [])
        for pkg in pkgs.split(", "):
            pkg = pkg.split(":")[0]
            if pkg not in found[p]:
                found[p].append(pkg)
    return found


def read_lists():
    env = os.environ.get("CMAKIT_PACKAGES")
    files = [env] if env else [os.path.join(ROOT, "ci", "packages.txt")] + sorted(
        glob.glob(os.path.join(ROOT, "ci", "packages.d", "*.txt")))
    pkgs = {}
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                for line in fh:
                    name = line.split("#", 1)[0].strip()
                    if name:
                        pkgs.setdefault(name, os.path.relpath(f, ROOT) if f.startswith(ROOT) else f)
        except OSError as e:
            raise AuditError(f"pkgaudit: cannot read package list {f}: {e.strerror}")
    return pkgs


def installed():
    """{package: (priority, essential, depends groups)} of the installed
    packages, and {virtual: [installed providers]}."""
    fmt = "${Package}\\t${db:Status-Status}\\t${Priority}\\t${Essential}\\t${Pre-Depends}\\t${Depends}\\t${Provides}\\n"
    r = subprocess.run(["dpkg-query", "-W", "-f", fmt], capture_output=True, text=True)
    db = {}
    provides = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 7 or f[1] != "installed":
            continue
        name = f[0].split(":")[0]
        groups = [g.strip() for g in (f[4] + "," + f[5]).split(",") if g.strip()]
        db[name] = (f[2], f[3] == "yes", groups)
        for v in f[6].split(","):
            v = re.sub(r"\(.*?\)", "", v).strip().split(":")[0]
            if v:
                provides.setdefault(v, []).append(name)
    return db, provides


def alt_name(alt):
    return re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]


def closure(listed, db, provides):
    """{package: why} for the listed packages and what they pull in."""
    why = {p: f"listed in {src}" for p, src in listed.items()}
    todo = sorted(listed)
    while todo:
        p = todo.pop(0)
        if p not in db:
            continue
        for group in db[p][2]:
            first = alt_name(group.split("|")[0])
            if first in db or first not in provides:
                targets = [first]
            else:
                targets = provides[first]
            for t in targets:
                if t not in why:
                    why[t] = f"a dependency of {p}"
                    todo.append(t)
    return why


def main(argv):
    bases = []
    table = None
    traces = []
    args = iter(argv)
    for a in args:
        if a in ("--base", "--table"):
            v = next(args, None)
            if v is None:
                raise AuditError(f"pkgaudit: {a} needs a value")
            if a == "--base":
                bases.append(v)
            else:
                table = v
        elif a.startswith("-"):
            raise AuditError(f"pkgaudit: unknown option {a} (--base DIR, --table FILE)")
        else:
            traces.append(a)
    if not traces:
        raise AuditError("pkgaudit: no trace given (usage: pkgaudit.py [--base DIR]... [--table FILE] TRACE...)")

    programs = []
    for t in traces:
        programs.extend(executed(t))
    # relative paths: below each base directory, where such a file exists
    resolved = []
    for p in dict.fromkeys(programs):
        if not p.startswith("/"):
            for b in bases:
                q = os.path.normpath(os.path.join(b, p))
                if os.path.exists(q):
                    p = q
                    break
        resolved.append(p)
    # scripts' interpreters are executed too, though no execve names them
    todo = list(resolved)
    progs = []
    while todo:
        p = todo.pop(0)
        if p in progs:
            continue
        progs.append(p)
        todo.extend(i for i in interpreter(p) if i not in progs)

    # needs[p]: what p needs, each entry a list of packages any one of
    # which will do: one per step of its symlink chain that a package holds;
    # past /etc/alternatives/NAME, any package of one of NAME's choices (a
    # fresh machine may have chosen another: mawk, not gawk, for awk)
    steps = {}
    alts = {}
    for p in progs:
        steps[p] = []
        for c in chain(p):
            if c.startswith("/etc/alternatives/"):
                name = c[len("/etc/alternatives/"):].split("/")[0]
                alts[p] = (name, alternatives(name))
                break
            steps[p].append(c)
    everything = [a for v in steps.values() for c in v for a in aliases(c)]
    everything += [a for _, choices in alts.values() for c in choices for a in aliases(c)]
    own = owners(everything)
    listed = read_lists()
    db, provides = installed()
    why = closure(listed, db, provides)

    def fine(pkg):
        prio, essential = db.get(pkg, ("?", False, []))[:2]
        if pkg in listed:
            return why[pkg]
        if prio in BASE_PRIORITIES:
            return f"priority {prio}"
        if essential:
            return "Essential"
        return why.get(pkg)

    def holders(path):
        out = []
        for a in aliases(path):
            out += [k for k in own.get(a, []) if k not in out]
        return out

    rows = []
    bad = {}
    for p in sorted(progs):
        needs = [holders(c) for c in steps[p]]
        needs = [n for i, n in enumerate(needs) if n and n not in needs[:i]]
        if p in alts:
            name, choices = alts[p]
            alt_pkgs = []
            for c in choices:
                alt_pkgs += [k for k in holders(c) if k not in alt_pkgs]
            needs.append(("alternative " + name, alt_pkgs))
        if not needs:
            rows.append((p, "-", "in no package"))
            continue
        for need in needs:
            label = None
            if isinstance(need, tuple):
                label, need = need
            ok = [(k, fine(k)) for k in need if fine(k)]
            if ok:
                k, reason = ok[0]
                rows.append((p, k, reason + (f" ({label}: {', '.join(need)})" if label else "")))
                continue
            for k in need[:1]:
                prio = db.get(k, ("?",))[0]
                rows.append((p, k, "NOT FINE: neither listed nor a dependency of a listed package, priority " + prio
                             + (f" ({label}: {', '.join(need)})" if label else "")))
                bad.setdefault(k, (prio, []))[1].append(p)
    if table:
        with open(table, "w", encoding="utf-8") as f:
            f.write(f"# {len(progs)} programs from {len(traces)} trace(s)\n")
            for r in rows:
                f.write("\t".join(r) + "\n")
    for pkg in sorted(bad):
        prio, ps = bad[pkg]
        print(f"{pkg}\t{prio}\t{','.join(ps)}")
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except AuditError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
