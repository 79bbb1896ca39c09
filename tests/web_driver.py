"""Minimal headless-Chromium driver for the web page test, speaking the Chrome DevTools Protocol over
`--remote-debugging-pipe` (NUL-separated JSON on file descriptors 3 and 4): no websocket library, no npm package,
no browser download — just the Debian `chromium` binary.

    with Chromium() as browser:
        page = browser.new_page(1100, 800)
        page.goto(url)
        page.evaluate("document.title")
        page.draw([[(x, y), ...], ...])      # strokes in CSS pixels, as real mouse drags
        page.screenshot("shot.png")

Also: phone-sized pages (`new_page(390, 844, mobile=True)`), network throttling (`page.throttle`), holding a
request until told (`page.hold` / `page.release`, the Fetch domain), and the responses seen (`page.responses`).
"""

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-extensions", "--mute-audio", "--remote-debugging-pipe"]


class CDPError(RuntimeError):
    """A DevTools command failed, timed out, or the page threw."""


def find_chromium():
    """Path of a Chromium/Chrome binary ($CHROMIUM, else PATH), or None."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _above_4(fd):
    """Move `fd` to a descriptor number >= 10 (close-on-exec), closing the original."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Chromium:
    """A headless Chromium process with a fresh profile, driven over the DevTools pipe."""

    def __init__(self, binary=None, timeout=30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ke-chromium-")
        to_child, self._to_chrome = os.pipe()  # Chromium reads commands on fd 3
        self._from_chrome, from_child = os.pipe()  # and writes replies/events on fd 4
        to_child, from_child = _above_4(to_child), _above_4(from_child)  # so the dup2s below cannot collide
        self.proc = subprocess.Popen([binary or find_chromium(), *FLAGS, f"--user-data-dir={self.profile}",
                                      "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, pass_fds=(3, 4),
                                     preexec_fn=lambda: (os.dup2(to_child, 3), os.dup2(from_child, 4)))
        os.close(to_child)
        os.close(from_child)
        self._next_id = 0
        self._replies = {}
        self._events = queue.Queue()
        self.history = []  # every event drained so far (responses, paused requests ...), in arrival order
        self._cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        buf = b""
        with os.fdopen(self._from_chrome, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                buf += chunk
                *messages, buf = buf.split(b"\0")
                for raw in messages:
                    self._dispatch(json.loads(raw))
        with self._cond:
            self._replies[None] = "closed"
            self._cond.notify_all()

    def _dispatch(self, msg):
        if "id" in msg:
            with self._cond:
                self._replies[msg["id"]] = msg
                self._cond.notify_all()
        else:
            self._events.put(msg)

    def send(self, method, params=None, session=None):
        """Send one command and wait for its result (dict); raises CDPError on an error reply or timeout."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        with self._cond:
            ok = self._cond.wait_for(lambda: msg["id"] in self._replies or None in self._replies, self.timeout)
            reply = self._replies.pop(msg["id"], None)
        if not ok or reply is None:
            raise CDPError(f"{method}: no reply within {self.timeout} s (browser exited: {self.proc.poll()})")
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}")
        return reply["result"]

    def events(self):
        """Drain the events received so far (console messages, exceptions ...); they are also kept in history."""
        out = []
        while not self._events.empty():
            out.append(self._events.get_nowait())
        self.history += out
        return out

    def new_page(self, width=1100, height=800, mobile=False):
        """Open a tab with a fixed viewport (a phone's, with touch, when `mobile`) and return a Page attached to it."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for method in ("Page.enable", "Runtime.enable", "Network.enable"):
            page.send(method)
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        if mobile:
            page.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
        return page

    def close(self):
        """Ask the browser to quit, then make sure it is gone; remove the profile."""
        try:
            self.send("Browser.close")
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    """One tab: navigation, JS evaluation, mouse input, screenshots."""

    def __init__(self, browser, session):
        self.browser, self.session = browser, session
        self._released = set()

    def send(self, method, params=None):
        return self.browser.send(method, params, self.session)

    def goto(self, url, wait=True):
        """Navigate; wait for the load event unless `wait` is False (then only for the new document's body)."""
        self.send("Page.navigate", {"url": url})
        if wait:
            self.evaluate("new Promise(r => document.readyState === 'complete' ? r() : addEventListener('load', r))")
        else:
            self.wait_for(f"location.href === {json.dumps(url)} && document.body !== null")

    def reload(self):
        """Reload and wait for the load event."""
        self.send("Page.reload", {"ignoreCache": False})
        time.sleep(0.2)  # let the old document go before waiting on the new one's readyState
        self.evaluate("new Promise(r => document.readyState === 'complete' ? r() : addEventListener('load', r))")

    def events(self, method):
        """This tab's events named `method` received so far (e.g. "Network.responseReceived")."""
        self.browser.events()
        return [e["params"] for e in self.browser.history if e.get("sessionId") == self.session
                and e.get("method") == method]

    def responses(self):
        """{url: response dict (status, headers with lower-case names, fromServiceWorker ...)} seen so far."""
        out = {}
        for params in self.events("Network.responseReceived"):
            resp = params["response"]
            resp["headers"] = {k.lower(): v for k, v in resp["headers"].items()}
            out[resp["url"]] = resp
        return out

    def throttle(self, download_bytes_per_s, latency_ms, upload_bytes_per_s=None):
        """Chromium's network emulation: every request waits `latency_ms`, all share the bandwidth."""
        self.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": latency_ms, "downloadThroughput": download_bytes_per_s,
            "uploadThroughput": upload_bytes_per_s or download_bytes_per_s})

    def hold(self, url_pattern):
        """Pause every request whose URL matches `url_pattern` (wildcards *) until release()."""
        self.send("Fetch.enable", {"patterns": [{"urlPattern": url_pattern, "requestStage": "Request"}]})

    def release(self, timeout=20.0):
        """Wait for at least one held request, let every held request go on, stop holding."""
        deadline = time.monotonic() + timeout
        while not self.events("Fetch.requestPaused"):
            if time.monotonic() > deadline:
                raise CDPError(f"no request was held within {timeout} s")
            time.sleep(0.05)
        for params in self.events("Fetch.requestPaused"):
            if params["requestId"] not in self._released:
                self._released.add(params["requestId"])
                self.send("Fetch.continueRequest", {"requestId": params["requestId"]})
        self.send("Fetch.disable")

    def evaluate(self, expression):
        """Value of a JS expression (promises awaited, result returned by value); page exceptions raise CDPError."""
        res = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in res:
            details = res["exceptionDetails"]
            raise CDPError(f"page error: {details.get('exception', {}).get('description') or details.get('text')}")
        return res["result"].get("value")

    def _mouse(self, kind, x, y, buttons):
        self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                               "buttons": buttons, "clickCount": 1, "pointerType": "mouse"})

    def drag(self, points, step=5.0):
        """One stroke: press at the first point, move through the others (every `step` px), release."""
        self._mouse("mouseMoved", *points[0], 0)
        self._mouse("mousePressed", *points[0], 1)
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            n = max(1, int(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / step))
            for k in range(1, n + 1):
                self._mouse("mouseMoved", x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n, 1)
        self._mouse("mouseReleased", *points[-1], 0)

    def draw(self, strokes):
        """Draw several strokes (lists of (x, y) viewport CSS pixels) in order."""
        for stroke in strokes:
            self.drag([tuple(map(float, p)) for p in stroke])

    def click(self, selector):
        """Click the centre of the first element matching `selector`."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        self._mouse("mousePressed", *box, 1)
        self._mouse("mouseReleased", *box, 0)

    def screenshot(self, path):
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def wait_for(self, expression, timeout=20.0, poll=0.05):
        """Poll a JS expression until it is truthy; returns its value, or raises CDPError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(poll)
        raise CDPError(f"timed out after {timeout} s waiting for {expression}")
