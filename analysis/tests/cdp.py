# SPDX-License-Identifier: GPL-2.0
"""Drive headless Chromium over the DevTools protocol on a pipe (no websocket).

    /usr/bin/python3 analysis/tests/cdp.py REPORT.html OUT.png [--height PIXELS]

opens a report the way the browser test does, fails (exit 1, one line) when
an image does not load or the page logs an error, and writes a screenshot
of its top PIXELS (default: all of it): the README's picture is made so.

``--remote-debugging-pipe`` makes Chromium read protocol messages from fd 3 and
write them to fd 4, each a JSON text ended by a NUL byte. That is all the
report test needs: open a page, wait for its load event, evaluate a script,
collect console errors and exceptions, take a full-page screenshot.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = "/usr/bin/chromium"


class Browser:
    def __init__(self, timeout=60):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="cmakit-chromium-")
        r_in, w_in = os.pipe()    # we write -> chromium reads (its fd 3)
        r_out, w_out = os.pipe()  # chromium writes (its fd 4) -> we read

        def child_fds():
            # move both ends above 4 first, so neither is clobbered by the other
            a = fcntl.fcntl(r_in, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(w_out, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--disable-dev-shm-usage",
                f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=child_fds, close_fds=False)
        os.close(r_in)
        os.close(w_out)
        self.w = w_in
        self.r = r_out
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.sid = None

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the protocol pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, on_page=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if on_page and self.sid:
            msg["sessionId"] = self.sid
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def open(self, url):
        targets = self.send("Target.getTargets", on_page=False)["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        if pages:
            tid = pages[0]["targetId"]
        else:
            tid = self.send("Target.createTarget", {"url": "about:blank"}, on_page=False)["targetId"]
        self.sid = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True},
                                 on_page=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"script failed: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def errors(self):
        """Console errors, uncaught exceptions and error log entries seen so far."""
        self.evaluate("0")  # drain pending events
        out = []
        for m in self.events:
            meth = m.get("method")
            p = m.get("params", {})
            if meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console." + p["type"] + ": " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif meth == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append(f"log: {e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())
        return out

    def screenshot(self, path, max_height=16000):
        """The page from its top, at most MAX_HEIGHT pixels of it."""
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or 900)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": min(height, max_height), "deviceScaleFactor": 1, "mobile": False})
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", on_page=False)
                except Exception:
                    pass
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self.w, self.r):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Every image of the page: loaded, with a size, and from where.
IMAGES_JS = """JSON.stringify(Array.from(document.images).map(i => ({
  src: i.src.slice(0, 40), complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})))"""


# Every view of a report: its id, whether its figure loaded, whether it says why not.
VIEWS_JS = """JSON.stringify(Array.from(document.querySelectorAll('section.view')).map(s => ({
  id: s.id, images: Array.from(s.querySelectorAll('img')).filter(i => i.complete && i.naturalWidth > 0).length,
  nodata: s.querySelectorAll('p.nodata').length})))"""


def main(argv=None):
    import argparse
    import sys
    p = argparse.ArgumentParser(description="screenshot of a report in headless Chromium")
    p.add_argument("html")
    p.add_argument("png")
    p.add_argument("--height", type=int, default=16000, help="pixels from the top (default all)")
    a = p.parse_args(argv)
    if not os.path.isfile(a.html):
        print(f"cdp: {a.html}: no such file", file=sys.stderr)
        return 2
    with Browser() as b:
        b.open("file://" + os.path.abspath(a.html))
        imgs = json.loads(b.evaluate(IMAGES_JS))
        errors = b.errors()
        broken = [i for i in imgs if not i["complete"] or i["width"] == 0]
        if broken or errors:
            print(f"cdp: {a.html}: {len(broken)} image(s) did not load, errors: {errors}", file=sys.stderr)
            return 1
        b.screenshot(a.png, a.height)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
