"""Ambient store-and-forward for the app loop.

One record every interval from the latest fresh reading (the App's
make_record: never a stale one, skipped and counted). A failed send keeps the
record, with its created time, in the Backlog (a flash file), flushed through
/dataarray once sends work, at most one request per 5 s and 3000 records a
day (Limiter). No record is sent before the wall clock is set.

Timings: a request times out after 10 s; after a failed one the next waits
10 s, doubling to 120 s; a flush goes at most every 12 s and carries at most
400 bytes of records; a flush the limiter refused (the day's quota used) is
not tried again for 10 s; the limiter's day count is stored every 10 min.
"""

import log
from ticks import ticks_add, ticks_diff

from ambient import record
from ambient.backlog import Backlog
from ambient.limiter import Limiter

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:

    def const(x):
        return x


_TIMEOUT_S = const(10)  # one request, s
_RETRY_MS = const(10000)  # first retry after a failed request; doubles up to _RETRY_MAX_MS
_RETRY_MAX_MS = const(120000)
_SAVE_MS = const(600000)  # the limiter's day count goes to the store this often
_FLUSH_GAP_MS = const(12000)  # no flush sooner after a request: one per ~10 s refresh cycle
_FLUSH_WAIT_MS = const(10000)  # no flush check sooner after the limiter refused one (day's quota used)
_FLUSH_BYTES = const(400)  # records per flush, bytes (~5: a flush allocates about twice that)


class Forwarder:
    """One record per interval, a flash backlog, the limits; poll() once per app step.

    amb: the config's ambient section; http_post(url, body, timeout_s) -> HTTP status;
    wall() -> Unix s or None; store: the app's Store (keeps the day's count as "ambient_limiter").
    Counters: sent (records Ambient accepted), failed (failed requests), requests,
    skipped (records not made: no fresh reading or no wall clock), flushed
    (records sent late from the backlog); last_error; backoff_ms (0 while sends work);
    due (ticks ms of the next record). batch: at most this many records per flush.
    """

    def __init__(self, amb, http_post, wall, store, backlog_path, now, batch=24):
        self.http_post = http_post
        self.wall = wall
        self.store = store
        self.batch = batch
        self._key = amb["write_key"]
        self._bulk_head = record.array_head(self._key)  # built once: it starts every /dataarray body
        self._url = record.url(amb["url"], amb["channel_id"])
        self._bulk_url = record.url(amb["url"], amb["channel_id"], True)
        self.interval_ms = amb["interval"] * 1000
        self.due = ticks_add(now, self.interval_ms)
        self.sent = self.failed = self.requests = self.skipped = self.flushed = 0
        self.last_error = None
        self.backoff_ms = 0
        self._post_t = now
        self._refused_t = None  # when the limiter last refused a flush
        self._saved_t = now
        self.backlog = Backlog(backlog_path)
        self.limiter = Limiter()
        self.limiter.restore(store.get("ambient_limiter"))
        if len(self.backlog):
            log.info("ambient: %d records waiting", len(self.backlog))

    def status(self):
        """A word for the status line: ok, buffer (records waiting) or fail (sends failing)."""
        return "fail" if self.backoff_ms else ("buffer" if len(self.backlog) else "ok")

    def poll(self, now, online, make_record):
        """Make the record that is due, send or keep it, flush the backlog; True when it made a
        request (at most one a poll: the app step's one network call).

        online: the network is up. make_record(now) -> record dict or None.
        What changes on the screen (the status word, the counts, the error) shows with the next
        redraw, at most 10 s later: a redraw of its own would add ~0.6 KB to a cycle that
        already holds a send, a failure or a flush."""
        r = self.requests
        if ticks_diff(now, self.due) >= 0:
            self.due = ticks_add(self.due, self.interval_ms)
            if ticks_diff(now, self.due) >= 0:  # far behind (a long block): no burst
                self.due = ticks_add(now, self.interval_ms)
            rec = make_record(now)
            if rec is None:
                self.skipped += 1
                log.debug("ambient: no fresh reading")
            else:
                # through /data when nothing waits and a request may go now, else into the backlog
                # (a request more than ~6 days ago reads as negative: long past)
                wall = None if len(self.backlog) or not online else self.wall()
                if (
                    wall is None
                    or 0 <= ticks_diff(now, self._post_t) < self.backoff_ms
                    or not self.limiter.room(wall)
                    or not self._post(now, wall, self._url, record.body(self._key, rec), 1)
                ):
                    if not self.backlog.add(rec):
                        log.warning("ambient: backlog not writable")
                else:
                    self.sent += 1
        if len(self.backlog):
            self._flush(now, online)
        if ticks_diff(now, self._saved_t) >= _SAVE_MS:
            self._saved_t = now
            self.store.set("ambient_limiter", self.limiter.state())
            self.store.save()
        return self.requests != r

    def close(self):
        self.store.set("ambient_limiter", self.limiter.state())
        self.backlog.save()

    def _post(self, now, wall, url, body, n):
        """One request; True on HTTP 2xx. Spends the limiter (n records on success).

        A failure allocates little: no answer is a constant last_error, the log line is
        formatted only for the first failures and every 50th."""
        self._post_t = now
        self.requests += 1
        err = None
        try:
            status = self.http_post(url, body, _TIMEOUT_S)
        except Exception as e:
            status = None
            err = e
        ok = status is not None and 200 <= status < 300
        self.limiter.spend(wall, n if ok else 0)
        if ok:
            self.backoff_ms = 0
            return True
        self.failed += 1
        self.backoff_ms = min(self.backoff_ms * 2, _RETRY_MAX_MS) if self.backoff_ms else _RETRY_MS
        self.last_error = "Ambient: HTTP %d" % status if status is not None else "Ambient: no answer"
        if self.failed <= 3 or self.failed % 50 == 0:
            log.warning("ambient send failed (%s); %d waiting", self.last_error[9:], len(self.backlog))
        if err is not None and self.failed <= 3:
            log.debug("ambient: %r", err)
        return False

    def _flush(self, now, online):
        """Send the oldest records (a batch through /dataarray) when a request may go.

        The body is read from the backlog file into one buffer (Backlog.peek_body): a flush
        allocates about twice the body, so the batch is kept small; at one request per
        _FLUSH_GAP_MS a backlog still drains far faster than records are made."""
        # runs every step while records wait: no wall clock or limiter arithmetic (allocates)
        if not online or 0 <= ticks_diff(now, self._post_t) < max(self.backoff_ms, _FLUSH_GAP_MS):
            return
        t = self._refused_t
        if t is not None:
            if 0 <= ticks_diff(now, t) < _FLUSH_WAIT_MS:
                return
            self._refused_t = None
        wall = self.wall()
        # near the day's quota send what still fits rather than waiting for a full batch
        n = 0 if wall is None else min(len(self.backlog), self.batch, self.limiter.room(wall))
        if not n:
            self._refused_t = now  # quota used (or the clock unset): not again every step
            return
        # while sends fail, each retry carries one record: a refused request costs little
        body, n = self.backlog.peek_body(self._bulk_head, n, 0 if self.backoff_ms else _FLUSH_BYTES)
        if not n:  # records counted but not readable (a failed write or read): recount from the file
            self._refused_t = now
            self.backlog.load()
            return
        ok = self._post(now, wall, self._bulk_url, body, n)
        body = None
        if not ok:
            return
        self.backlog.drop(n)
        self.sent += n
        self.flushed += n
        if not len(self.backlog):
            log.info("ambient: backlog sent (%d in all)", self.flushed)
