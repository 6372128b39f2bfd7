"""Ambient (ambidata.io) records, a send limiter and a store-and-forward backlog.

Records: d1 current A, d2 power kW (negative on export), d3 kWh since the
meter-reading day, d4 charge yen, d5 export kWh; optional "created" (Unix
epoch ms) so a late send lands at the time it was measured.

The write key is a credential: body() and array_body() put it straight into
the POST body; it must never be logged, shown, or put in an exception.

Backlog design: all records live in a flash file, RAM holds three ints.
A record dict costs ~290 bytes of heap (dict + boxed floats + a long int
for "created"; measured on the MicroPython wasm build), so even 240 in RAM
would be ~70 KB, more than the app's whole 60 KB budget, and a day of 30 s
records (2880) would not fit at all. The file
is JSON lines, append-only between compactions:
    {"d1": 3.2, ..., "created": 1767225600000}   a record
    -N                                            the N oldest records are gone
Every add() is written through (one short append per failed send), so a
reset loses nothing; drop() appends "-N" and moves the RAM head offset. On
load the file is replayed; a torn or garbled line (power loss mid-write) is
skipped and the file rewritten clean. When the dead part before the head
passes half the file (and compact_bytes) the live records are copied to
path.tmp, which is then renamed over the file (atomic on littlefs and POSIX;
MicroPython's FAT removes the old file first, so load() takes a complete
path.tmp when path is missing). An empty backlog deletes the file.
Loading, repair and compaction (and Limiter.restore) live in
lib/ambient/repair.py, imported for the call and dropped again: the steady
add / peek / drop path does not keep their bytecode in the heap.
"""

import json
import os
import lazy

MAX_BATCH = 250  # records per /dataarray request (Ambient answers 413 above ~258)

try:
    json.dumps({}, separators=(",", ":"))

    def _dumps(obj):
        return json.dumps(obj, separators=(",", ":"))
except TypeError:  # older MicroPython: no separators argument
    _dumps = json.dumps


def _rare(name, *args):
    """Start-up and repair work (lib/ambient/repair.py): its module is loaded for the call only."""
    return lazy.call("ambient.repair", name, *args)


def _round(v, n):
    return float(round(v, n)) or 0.0  # -0.0 becomes 0.0 (no second float for the + 0.0 of before)


def make_record(current_a, power_w, period_kwh, charge_yen, export_kwh=None, created_ms=None):
    """Ambient record dict; a value that is None is left out.

    current_a (A) -> d1, 1 decimal; power_w (W, negative on export) -> d2 kW,
    3 decimals; period_kwh -> d3, 2 decimals; charge_yen -> d4 int;
    export_kwh -> d5, 2 decimals; created_ms (Unix epoch ms) -> created.
    """
    rec = {}
    if current_a is not None:
        rec["d1"] = _round(current_a, 1)
    if power_w is not None:
        rec["d2"] = _round(power_w / 1000, 3)
    if period_kwh is not None:
        rec["d3"] = _round(period_kwh, 2)
    if charge_yen is not None:
        rec["d4"] = int(charge_yen)
    if export_kwh is not None:
        rec["d5"] = _round(export_kwh, 2)
    if created_ms is not None:
        rec["created"] = int(created_ms)
    return rec


def url(base, channel_id, bulk=False):
    """POST address: base (e.g. "http://ambidata.io") + /api/v2/channels/<id>/data or /dataarray."""
    return "%s/api/v2/channels/%s/%s" % (base.rstrip("/"), channel_id, "dataarray" if bulk else "data")


def _key(write_key):
    if type(write_key) is not str:
        raise TypeError("write key must be a string")  # never echo the value
    return _dumps(write_key).encode()


def body(write_key, record):
    """JSON bytes for POST .../data: the record plus "writeKey"."""
    if type(write_key) is not str:
        raise TypeError("write key must be a string")  # never echo the value
    d = dict(record)  # one copy: cheaper on MicroPython than splicing the key into the record's JSON
    d["writeKey"] = write_key
    return _dumps(d).encode()


def array_head(write_key):
    """The start of a .../dataarray body, up to the records: {"writeKey": ..., "data": [."""
    return b'{"writeKey":' + _key(write_key) + b',"data":['


def array_body(write_key, records):
    """JSON bytes for POST .../dataarray: {"writeKey": ..., "data": [records]}.

    Each record is a dict or an already encoded JSON object (bytes or str,
    as Backlog.peek_lines() returns them). (The app's flushes use Backlog.peek_body().)
    """
    return _rare("array_body", write_key, records)


def _scan(f, pos, n, limit):
    """(k, end): the first k <= n record lines from file offset pos end at offset end, and
    end - pos <= limit unless one record alone is longer (k >= 1 while records wait).

    Read through a small buffer: no object per line."""
    buf = bytearray(64)
    f.seek(pos)
    limit += pos
    k = 0
    end = pos
    rec = None  # None at a line start, else whether the line is a record
    while k < n:
        got = f.readinto(buf)
        if not got:
            break
        i = 0
        while i < got:
            if rec is None:
                rec = buf[i] == 123  # "{"
            j = buf.find(b"\n", i, got)
            if j < 0:
                break
            i = j + 1
            if rec:
                if k and pos + i > limit:
                    return k, end
                k += 1
                end = pos + i
                if k == n:
                    break
            rec = None
        pos += got
    return k, end


class Limiter:
    """Keeps sends strictly more than min_interval_s apart and <= daily_limit records a day.

    now_s is wall time (Unix s, int or float). The gap must exceed
    min_interval_s, so whole-second clocks never allow a real gap below it.
    Ambient's day boundary is not documented and the service is run in JST:
    a record counts against the UTC day AND the JST day (day_offsets_s), so
    the limit holds whichever midnight Ambient uses. A bulk send of n records
    spends n. A clock stepping back keeps the counts (never resets early).
    """

    def __init__(self, min_interval_s=5, daily_limit=3000, day_offsets_s=(0, 32400)):
        self.min_interval_s = min_interval_s
        self.daily_limit = daily_limit
        self._offsets = tuple(day_offsets_s)
        self._days = [-1] * len(self._offsets)  # day numbers (days since 1970 at each offset)
        self._counts = [0] * len(self._offsets)
        self._last = None
        self._roll_at = None  # no day ends before this wall time
        self.spent = 0  # records spent since start

    def _roll(self, now_s):
        # Unix s is a long int on a 32-bit port: each sum allocates, so only compare until a day ends
        if self._roll_at is not None and now_s < self._roll_at:
            return
        nxt = None
        for i, off in enumerate(self._offsets):
            day = int((now_s + off) // 86400)
            if day > self._days[i]:
                self._days[i] = day
                self._counts[i] = 0
            end = (self._days[i] + 1) * 86400 - off
            if nxt is None or end < nxt:
                nxt = end
        self._roll_at = nxt

    def room(self, now_s):
        """How many records one send may carry now (0 while the interval has not passed)."""
        self._roll(now_s)
        if self._last is not None and 0 <= now_s - self._last <= self.min_interval_s:
            return 0
        used = max(self._counts) if self._counts else 0
        return max(0, self.daily_limit - used)

    def allow(self, now_s, n=1):
        """True when a send of n records now keeps to both limits."""
        return n <= self.room(now_s)

    def spend(self, now_s, n=1):
        """Record a send of n records at now_s (call after each attempt that reached Ambient)."""
        self._roll(now_s)
        for i in range(len(self._counts)):
            self._counts[i] += n
        self._last = now_s
        self.spent += n

    def used_today(self, now_s):
        """Records counted against the fuller of the tracked days."""
        self._roll(now_s)
        return max(self._counts) if self._counts else 0

    def state(self):
        """Small list to keep in the store, so a reboot does not reset the day's count."""
        return [self._last] + list(self._days) + list(self._counts)

    def restore(self, state):
        """Undo state(); ignores anything malformed."""
        _rare("restore", self, state)


class Backlog:
    """Bounded FIFO of Ambient records kept in a flash file (see module doc).

    add(record) appends (dropping the oldest when full: counted in .dropped);
    peek(n) / peek_lines(n) read the oldest n without removing them;
    drop(n) removes the oldest n after a successful send; len() counts them.
    .errors counts flash write failures (a record that could not be written
    is counted in .dropped too).
    """

    compact_bytes = 16384  # compact once the dead part is this big and over half the file

    def __init__(self, path, capacity=2880):
        self.path = path
        self.capacity = capacity
        self.dropped = 0
        self.errors = 0
        self._n = 0  # live records
        self._head = 0  # byte offset where the live records start
        self._size = 0  # file size, bytes
        self._peek = None  # (records, end offset) of the last peek
        self.load()

    def __len__(self):
        return self._n

    def load(self):
        """(Re)read the file: count live records, find the head, repair a torn tail."""
        _rare("load", self)

    def _append(self, data, newline=True):
        """Append data, then a newline unless newline is False (two writes: no concatenated copy)."""
        with open(self.path, "ab") as f:
            f.write(data)
            if newline:
                f.write(b"\n")
        self._size += len(data) + (1 if newline else 0)

    def add(self, record):
        """Append a record (a dict, ideally with "created"); True when it reached flash."""
        try:
            self._append(_dumps(record).encode())
        except OSError:
            self.errors += 1
            self.dropped += 1
            self.load()  # a partial write leaves a torn line: repair it
            return False
        self._n += 1
        if self._n > self.capacity:
            over = self._n - self.capacity
            self.dropped += over
            self.drop(over)
        return True

    def peek(self, n):
        """The oldest n records as dicts (fewer when the backlog holds fewer)."""
        return _rare("read", self, n, False)

    def peek_lines(self, n):
        """The oldest n records as JSON bytes (for array_body without decoding them)."""
        return _rare("read", self, n, True)

    def peek_body(self, head, n, limit=4096):
        """(body, k): the oldest k <= n records as one bytes object: head, the record lines joined
        by commas, then "]}" -- a /dataarray body after array_head(). drop(k) may follow.
        The records take at most limit bytes of the body (at least one record is taken).

        The lines are read from the file straight into one buffer, the newlines turned into
        commas in place and "-N" lines blanked (JSON whitespace): no object per record, the
        bytes as stored (original "created" times), about twice the body's size allocated.
        """
        self._peek = None
        n = min(n, self._n)
        if n <= 0:
            return None, 0
        start = self._head
        h = len(head)
        with open(self.path, "rb") as f:
            k, end = _scan(f, start, n, limit)
            size = end - start
            if not k:
                return None, 0
            buf = bytearray(h + size + 1)
            buf[:h] = head
            f.seek(start)
            if f.readinto(memoryview(buf)[h : h + size]) != size:
                return None, 0
        i = h
        size += h
        while i < size:
            j = buf.find(b"\n", i)
            if buf[i] == 123:  # "{": a record; its newline becomes the comma
                buf[j] = 44
            else:
                while i < j:
                    buf[i] = 32
                    i += 1
                buf[j] = 32
            i = j + 1
        buf[size - 1] = 93  # "]" over the last record's comma
        buf[size] = 125  # "}"
        self._peek = (k, end)
        return bytes(buf), k

    def drop(self, n):
        """Remove the oldest n records (after they were sent)."""
        n = min(n, self._n)
        if n <= 0:
            return
        if self._peek and self._peek[0] == n:
            head = self._peek[1]
        else:
            head = _rare("skip_records", self, self._head, n)
        self._peek = None
        self._n -= n
        if not self._n:
            self._head = self._size = 0
            try:
                os.remove(self.path)
            except OSError:
                try:  # an old file left behind would be read again from offset 0
                    with open(self.path, "wb"):
                        pass
                except OSError:
                    self.errors += 1
            return
        try:
            self._append(b"-%d\n" % n, False)  # one write: a torn marker must not swallow the next record
        except OSError:
            self.errors += 1  # the records will be sent again
            self.load()  # count from what reached the file (repairs a torn marker)
            return
        self._head = head
        self.save()

    def save(self):
        """Everything is already on flash; compact when the dead part is large."""
        if self._n and self._head > self.compact_bytes and self._head * 2 > self._size:
            _rare("rewrite", self, self._head, 0, False)
