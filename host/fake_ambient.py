"""A tiny local stand-in for the Ambient (ambidata.io) data API, for tests and `make sim`.

Listens on 127.0.0.1 only and accepts what the real service accepts:
  POST /api/v2/channels/<id>/data       {"writeKey": ..., "d1": ..., ["created": ...]}
  POST /api/v2/channels/<id>/dataarray  {"writeKey": ..., "data": [{"created": ..., "d1": ...}, ...]}
  GET  /api/v2/channels/<id>/data?n=N   the last N records, newest first
Success is HTTP 200. A wrong write key answers 403, a bad body 400, more
than MAX_BATCH records in one dataarray 413; with enforce_limits=True a send
less than 5 s after the previous one, or beyond 3000 records a UTC day,
answers 429 (the real service's exact answer is not documented).

Fault injection for tests: fail(n, status) answers the next n posts with
status; stall(n, seconds) holds the next n posts (the client times out);
drop(n) closes the next n connections without an answer.
Everything received is kept in .records (dicts with channel, created, d1..d8,
via "data" | "dataarray") and .posts (path, status, number of records).

Command line: python host/fake_ambient.py [--port 8765] [--fail-rate 0.1]
prints one JSON line per record received.
"""

import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BATCH = 258
DAILY_LIMIT = 3000
MIN_INTERVAL_S = 5
_PATH = re.compile(r"^/api/v2/channels/(\d+)/(data|dataarray)/?(\?.*)?$")


class FakeAmbient:
    """An Ambient-compatible HTTP server on a background thread."""

    def __init__(self, port=0, write_keys=None, clock=time.time, enforce_limits=False, on_record=None):
        self.write_keys = write_keys  # {channel_id str: key} or None (accept any key)
        self.clock = clock  # wall time in s (a test may hand in its virtual clock)
        self.enforce_limits = enforce_limits
        self.on_record = on_record
        self.records = []
        self.posts = []
        self.fail_rate = 0.0
        self._faults = []  # queue of ("fail", status) | ("stall", s) | ("drop",)
        self._last_post = {}
        self._day_count = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-ambient", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def fail(self, n=1, status=500):
        with self._lock:
            self._faults.extend([("fail", status)] * n)

    def stall(self, n=1, seconds=30.0):
        with self._lock:
            self._faults.extend([("stall", seconds)] * n)

    def drop(self, n=1):
        with self._lock:
            self._faults.extend([("drop",)] * n)

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def wait_for(self, count, timeout_s=5.0):
        """Block until at least count records arrived (or timeout); returns len(records)."""
        end = time.monotonic() + timeout_s
        while len(self.records) < count and time.monotonic() < end:
            time.sleep(0.01)
        return len(self.records)

    # --- request handling -------------------------------------------------------------
    def _next_fault(self):
        with self._lock:
            if self._faults:
                return self._faults.pop(0)
        if self.fail_rate and random.random() < self.fail_rate:
            return ("fail", 500)
        return None

    def _post(self, channel, kind, body):
        """(status, text) for one POST; stores the records on success."""
        try:
            doc = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return 400, "bad json"
        if not isinstance(doc, dict):
            return 400, "bad json"
        key = doc.get("writeKey")
        if self.write_keys is not None and self.write_keys.get(channel) != key:
            return 403, "wrong writeKey"
        if kind == "data":
            items = [{k: v for k, v in doc.items() if k != "writeKey"}]
        else:
            items = doc.get("data")
            if not isinstance(items, list) or not items:
                return 400, "data: expected a list"
            if len(items) > MAX_BATCH:
                return 413, "too many records"
        for item in items:
            if not isinstance(item, dict):
                return 400, "record: expected an object"
        now = self.clock()
        with self._lock:
            if self.enforce_limits:
                last = self._last_post.get(channel)
                if last is not None and now - last < MIN_INTERVAL_S:
                    return 429, "too frequent"
                day = (channel, int(now // 86400))
                if self._day_count.get(day, 0) + len(items) > DAILY_LIMIT:
                    return 429, "daily limit"
                self._day_count[day] = self._day_count.get(day, 0) + len(items)
            self._last_post[channel] = now
            for item in items:
                rec = {"channel": channel, "via": kind, "received": now}
                rec.update(item)
                rec.setdefault("created", int(now * 1000))
                self.records.append(rec)
                if self.on_record:
                    self.on_record(rec)
        return 200, "ok"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format, *args):  # noqa: A002  (quiet)
                pass

            def _answer(self, status, text, ctype="text/plain"):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                m = _PATH.match(self.path)
                if not m or m.group(2) != "data":
                    self._answer(404, "not found")
                    return
                n = 10
                q = re.search(r"[?&]n=(\d+)", self.path)
                if q:
                    n = int(q.group(1))
                with fake._lock:
                    mine = [r for r in fake.records if r["channel"] == m.group(1)]
                out = [{k: v for k, v in r.items() if k not in ("channel", "via", "received")} for r in mine]
                self._answer(200, json.dumps(out[::-1][:n]), "application/json")

            def do_POST(self):
                m = _PATH.match(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if not m:
                    self._answer(404, "not found")
                    return
                fault = fake._next_fault()
                if fault is not None and fault[0] == "drop":
                    fake.posts.append((self.path, None, 0))
                    self.close_connection = True
                    return
                if fault is not None and fault[0] == "stall":
                    fake.posts.append((self.path, None, 0))
                    fake._stop.wait(fault[1])
                    self.close_connection = True
                    return
                if fault is not None:
                    status, text = fault[1], "injected failure"
                else:
                    status, text = fake._post(m.group(1), m.group(2), body)
                n = 0
                if status == 200:
                    n = 1 if m.group(2) == "data" else len(json.loads(body)["data"])
                fake.posts.append((self.path, status, n))
                self._answer(status, text)

        return Handler


def main():
    import argparse

    ap = argparse.ArgumentParser(description="local Ambient-compatible endpoint (127.0.0.1)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--fail-rate", type=float, default=0.0, help="answer this share of posts with 500")
    ap.add_argument("--enforce-limits", action="store_true", help="5 s spacing and 3000 records a day")
    args = ap.parse_args()

    def show(rec):
        out = {k: v for k, v in rec.items() if k != "received"}
        print(json.dumps(out), flush=True)

    fake = FakeAmbient(args.port, enforce_limits=args.enforce_limits, on_record=show)
    fake.fail_rate = args.fail_rate
    fake.start()
    print("fake Ambient at %s (Ctrl-C ends)" % fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
