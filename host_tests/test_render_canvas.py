"""host/canvas.py against MicroPython's framebuf, primitive by primitive, plus PNG and terminal output.

One deterministic list of drawing operations (clipped at every edge, odd
positions and widths, every blit source format the canvas supports, keys and
palettes) runs on the MicroPython webassembly build with the real framebuf and
on CPython with the canvas; the buffers must match byte for byte.
"""

import json
import os
import shutil
import struct
import subprocess
import zlib

import canvas
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPWASM = os.path.join(ROOT, "tools", "mpwasm", "node_modules", "@micropython")

# Runs as is on MicroPython (fbm = framebuf) and on CPython (fbm = canvas).
OPS = r"""
def run(fbm, w, h, seed):
    state = [seed]

    def rnd(n):
        state[0] = (state[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return (state[0] >> 8) % n

    def coord(n):
        return rnd(n + 40) - 20

    buf = bytearray(((w + 1) & ~1) * h // 2)
    fb = fbm.FrameBuffer(buf, w, h, fbm.GS4_HMSB)
    pal = fbm.FrameBuffer(bytearray(1), 2, 1, fbm.GS4_HMSB)
    pal16 = fbm.FrameBuffer(bytearray(8), 16, 1, fbm.GS4_HMSB)
    for i in range(16):
        pal16.pixel(i, 0, 15 - i)
    src_gs4 = bytearray(8 * 7)
    for i in range(len(src_gs4)):
        src_gs4[i] = rnd(256)
    gs4 = fbm.FrameBuffer(src_gs4, 15, 7, fbm.GS4_HMSB)
    mono = bytes(rnd(256) for _ in range(64))
    fb.fill(rnd(16))
    for _ in range(400):
        op = rnd(9)
        c = rnd(16)
        if op == 0:
            fb.fill_rect(coord(w), coord(h), rnd(w // 2) - 2, rnd(h // 2) - 2, c)
        elif op == 1:
            fb.hline(coord(w), coord(h), rnd(w) - 3, c)
        elif op == 2:
            fb.vline(coord(w), coord(h), rnd(h) - 3, c)
        elif op == 3:
            fb.rect(coord(w), coord(h), rnd(w // 2), rnd(h // 2), c, rnd(2) == 1)
        elif op == 4:
            fb.line(coord(w), coord(h), coord(w), coord(h), c)
        elif op == 5:
            fb.pixel(coord(w), coord(h), c)
        elif op == 6:
            fmt = (fbm.MONO_VLSB, fbm.MONO_HLSB, fbm.MONO_HMSB)[rnd(3)]
            sw = 1 + rnd(20)
            spec = [mono, sw, 1 + rnd(16 if fmt else 8), fmt]
            if fmt and rnd(2):
                spec.append(sw + rnd(8))
            pal.pixel(0, 0, rnd(16))
            pal.pixel(1, 0, c)
            key = rnd(16) if rnd(2) else -1
            fb.blit(spec, coord(w), coord(h), key, pal)
        elif op == 7:
            fb.blit(gs4, coord(w), coord(h), rnd(16) if rnd(2) else -1, pal16 if rnd(2) else None)
        else:
            fb.fill(c) if rnd(40) == 0 else fb.pixel(coord(w), coord(h))
    return buf
"""

MP_SCRIPT = (
    OPS
    + r"""
import framebuf
for w, h, seed in CASES:
    with open("/out/%d_%d_%d.bin" % (w, h, seed), "wb") as f:
        f.write(run(framebuf, w, h, seed))
"""
)

CASES = [(160, 80, 1), (160, 80, 2), (240, 135, 3), (37, 23, 4), (9, 31, 5)]


def _host_run():
    ns = {}
    exec(OPS, ns)  # noqa: S102 - our own test code, shared verbatim with the MicroPython run
    return ns["run"]


def test_canvas_primitives_match_micropython_framebuf(tmp_path):
    if not os.path.isdir(MPWASM) or not shutil.which("node"):
        pytest.skip("MicroPython webassembly build not installed (make mpwasm)")
    script = tmp_path / "ops.py"
    script.write_text("CASES = %s\n" % json.dumps(CASES) + MP_SCRIPT)
    out = tmp_path / "out"
    cmd = ["node", "tools/mpwasm/run.mjs", "--export-out", str(out), str(script)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    run = _host_run()
    for w, h, seed in CASES:
        host = bytes(run(canvas, w, h, seed))
        device = (out / ("%d_%d_%d.bin" % (w, h, seed))).read_bytes()
        assert len(set(host)) > 8  # a busy picture, not an empty one
        assert device == host, "%dx%d seed %d: first difference at byte %d" % (
            w,
            h,
            seed,
            next(i for i in range(len(host)) if host[i] != device[i]),
        )


def _read_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    chunks = {}
    while pos < len(data):
        n = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + n
    w, h, depth, ctype = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[y * (w + 1) + 1 : (y + 1) * (w + 1)] for y in range(h)]
    assert all(raw[y * (w + 1)] == 0 for y in range(h))  # filter byte
    return w, h, depth, ctype, chunks[b"PLTE"], rows


def test_png_is_an_indexed_image_of_the_canvas(tmp_path):
    c = canvas.Canvas(7, 3)
    c.fill(2)
    c.pixel(0, 0, 1)
    c.pixel(6, 2, 15)
    palette = [0x000000, 0xFF0000, 0x00FF00] + [0x0000FF] * 13
    path = tmp_path / "x.png"
    c.to_png(str(path), palette, scale=2)
    w, h, depth, ctype, plte, rows = _read_png(path)
    assert (w, h, depth, ctype) == (14, 6, 8, 3)
    assert plte[:9] == b"\x00\x00\x00\xff\x00\x00\x00\xff\x00" and len(plte) == 48
    assert rows[0][:3] == b"\x01\x01\x02" and rows[1][:2] == b"\x01\x01"
    assert rows[5][-2:] == b"\x0f\x0f" and rows[2][0] == 2


def test_terminal_rendering_uses_half_blocks_in_24_bit_colour():
    c = canvas.Canvas(2, 3)
    c.pixel(0, 0, 1)  # top of the first cell
    c.pixel(1, 1, 2)  # bottom of the second cell
    text = c.to_ansi([0x000000, 0xFF8000, 0x0080FF] + [0] * 13)
    lines = text.split("\n")
    assert len(lines) == 2  # 3 rows -> 2 lines of half blocks
    assert lines[0].count("\u2580") == 2 and lines[1].count("\u2580") == 2
    assert "\x1b[38;2;255;128;0m\x1b[48;2;0;0;0m\u2580" in lines[0]
    assert "\x1b[38;2;0;0;0m\x1b[48;2;0;128;255m\u2580" in lines[0]
    assert all(line.endswith("\x1b[0m") for line in lines)
