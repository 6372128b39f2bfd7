"""Ambient records waiting to be sent, kept in a flash file: RAM holds a few ints.

A record dict costs ~290 bytes of heap (dict + boxed floats + a long int
for "created"), so a day of 30 s records (2880) could never wait in RAM.
The file is JSON lines, append-only between compactions:
    {"d1":3.2,...,"created":1767225600000}   a record
    -N                                        the N oldest records are gone
Every add() is written through (one short append per failed send), so a
reset loses nothing; drop() appends "-N" in one write (a torn marker must
not swallow the next record) and moves the RAM head offset. On load the
file is replayed; a torn or garbled line (power loss mid-write) is skipped
and the file rewritten clean. When the dead part before the head passes
half the file (and compact_bytes) the live records are copied to path.tmp,
which is then renamed over the file (atomic on littlefs and POSIX;
MicroPython's FAT removes the old file first, so load takes a complete
path.tmp when path is missing). An empty backlog deletes the file.
Loading, repair and compaction live in lib/ambient/repair.py, loaded for
the call only: the steady add / peek_body / drop path does not keep them.
"""

import json
import os

import lazy


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


class Backlog:
    """Bounded FIFO of Ambient records in the flash file path (see the module doc).

    add(record) appends (dropping the oldest when full: counted in .dropped);
    peek_body() reads the oldest as a request body without removing them;
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
        self._peek = None  # (records, end offset) of the last peek_body
        self.load()

    def __len__(self):
        return self._n

    def _repair(self, name, *args):
        """Run repair.name(path, *args) -> (records, head offset, file size, errors)."""
        self._peek = None
        self._n, self._head, self._size, e = lazy.call("ambient.repair", name, self.path, *args)
        self.errors += e

    def load(self):
        """(Re)read the file: count live records, find the head, repair a torn tail."""
        self._repair("load")

    def add(self, record):
        """Append a record (a dict, ideally with "created"); True when it reached flash."""
        data = json.dumps(record, separators=(",", ":")).encode()
        try:
            with open(self.path, "ab") as f:
                f.write(data)
                f.write(b"\n")  # two writes: no concatenated copy
        except OSError:
            self.errors += 1
            self.dropped += 1
            self.load()  # a partial write leaves a torn line: repair it
            return False
        self._size += len(data) + 1
        self._n += 1
        if self._n > self.capacity:
            over = self._n - self.capacity
            self.dropped += over
            self.drop(over)
        return True

    def peek_body(self, head, n, limit=4096):
        """(body, k): the oldest k <= n records as one bytes object: head, the record lines joined
        by commas, then "]}" -- a /dataarray body after record.array_head(). drop(k) may follow.
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
        try:
            f = open(self.path, "rb")
        except OSError:  # gone or unreadable: the caller recounts (load)
            return None, 0
        with f:
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
        p = self._peek
        head = p[1] if p and p[0] == n else lazy.call("ambient.repair", "skip", self.path, self._head, n)
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
        marker = b"-%d\n" % n
        try:
            with open(self.path, "ab") as f:
                f.write(marker)  # one write: a torn marker must not swallow the next record
        except OSError:
            self.errors += 1  # the records will be sent again
            self.load()  # count from what reached the file (repairs a torn marker)
            return
        self._size += len(marker)
        self._head = head
        self.save()

    def save(self):
        """Everything is already on flash; compact when the dead part is large."""
        if self._n and self._head > self.compact_bytes and self._head * 2 > self._size:
            self._repair("compact", self._n, self._head, self._size)
