"""Generate the bitmap fonts in lib/ui/fonts.bin (host side, run once; the output is committed).

Usage: .venv/bin/python tools/gen_font.py [OUT]   (default: lib/ui/fonts.bin)

Needs Pillow (pip install pillow==12.3.0, into .venv only) and two Debian font
packages: fonts-dejavu-extra (DejaVu Sans Condensed Bold, for the digits) and
xfonts-base (the X11 misc-fixed bitmap fonts, for the small text). Nothing at
run time needs Pillow: lib/ui/draw.py reads the file, one glyph at a time.

File format (all integers little-endian; read by lib/ui/draw.py Font):
  b"UIF1", count (u8), then per font: name (8 bytes, NUL-padded ASCII), offset (u32)
  at offset, a font: height, baseline, top, ink, glyphs n, widest glyph maxw,
  bytes of chars, 0 (8 x u8); the characters (UTF-8); their widths (n bytes,
  advance in px, spacing included); then n glyph records of maxw * pages bytes
  (pages = (height + 7) // 8), each MONO_VLSB with the glyph's own width as stride:
  byte p * width + x holds rows 8p..8p+7 of column x (bit 0 on top); zero padded.
  A glyph record can be blitted as it is read: no per-glyph offsets, no copying.
"""

import gzip
import os
import struct
import sys

from PIL import Image, ImageDraw, ImageFont, PcfFontFile

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"
MISC = "/usr/share/fonts/X11/misc/%s-ISO8859-1.pcf.gz"

# Sources and licences (docs/display.md repeats them):
#   DejaVu Sans Condensed Bold (DejaVu fonts 2.37, fonts-dejavu-extra). Bitstream Vera Fonts
#   Copyright (c) 2003 Bitstream, Inc.; DejaVu changes are in the public domain. Free to use,
#   copy, modify and embed; the fonts themselves may not be sold alone.
#   https://dejavu-fonts.github.io/License.html
#   X11 misc-fixed 6x10 and 7x13B (xfonts-base): public domain ("Public domain font. Share and enjoy.").

# Power: digits and what a power figure needs (no comma: the cell stays as tall as a digit).
POWER = " -.0123456789"
# Numbers: the yen with its sign and thousands commas, kWh, the clock on the large layout.
NUMBER = " ,-.0123456789:\u00a5"
# Printable ASCII, the yen sign and three status marks: ok, failed, waiting.
MARKS = "\u2713\u2717\u2026"
SMALL = "".join(chr(c) for c in range(32, 127)) + "\u00a5" + MARKS

# (name, kind, source, cap height px, characters, spacing columns)
FONTS = (
    ("6x10", "pcf", "6x10", 0, SMALL, 0),  # text on 160x80
    ("7x13b", "pcf", "7x13B", 0, SMALL, 0),  # text on 240x135
    ("p32", "ttf", DEJAVU, 32, POWER, 2),  # power on 160x80
    ("n18", "ttf", DEJAVU, 18, NUMBER, 1),  # yen, today's kWh on 160x80
    ("p50", "ttf", DEJAVU, 50, POWER, 3),  # power on 240x135
    ("n30", "ttf", DEJAVU, 30, NUMBER, 2),  # yen, today's kWh on 240x135
)

# The status marks, drawn by hand (misc-fixed's ISO8859-1 files do not have them): '#' = ink,
# rows from the top of the cell, as wide as the font's cell.
HAND = {
    ("6x10", "\u2713"): ("......", ".....#", "....##", "#..##.", "##.#..", ".###..", "..#...", "......"),
    ("6x10", "\u2717"): ("......", "##..##", ".####.", "..##..", ".####.", "##..##", "#....#", "......"),
    ("6x10", "\u2026"): ("......", "......", "......", "......", "......", "......", "#.#.#.", "#.#.#."),
    ("7x13b", "\u2713"): (
        ".......",
        ".......",
        "......#",
        ".....##",
        ".....##",
        "#...##.",
        "##..##.",
        "##.##..",
        ".####..",
        "..##...",
        ".......",
    ),
    ("7x13b", "\u2717"): (
        ".......",
        ".......",
        "##...##",
        "###.###",
        ".#####.",
        "..###..",
        ".#####.",
        "###.###",
        "##...##",
        ".......",
        ".......",
    ),
    ("7x13b", "\u2026"): (
        ".......",
        ".......",
        ".......",
        ".......",
        ".......",
        ".......",
        ".......",
        ".......",
        "##.##.#",
        "##.##.#",
        ".......",
    ),
}


def _pcf_glyphs(name, source, chars):
    """Each char -> image 'L' of the whole cell; baseline; cell height."""
    with gzip.open(MISC % source) as f:
        font = PcfFontFile.PcfFontFile(f, "iso8859-1")  # pyright: ignore[reportArgumentType]
    glyphs = {}
    height = baseline = adv0 = 0
    for ch in chars:
        if ord(ch) > 255:
            continue
        glyph = font.glyph[ord(ch)]
        assert glyph is not None, ch
        (adv, _), (x0, y0, x1, y1), _, im = glyph
        height = y1 - y0
        baseline = -y0
        adv0 = adv
        cell = Image.new("L", (adv, height), 0)
        cell.paste(im.convert("L"), (x0, 0))
        glyphs[ch] = cell.point(lambda v: 255 if v else 0)
    for ch in chars:
        if ch in glyphs:
            continue
        rows = HAND[(name, ch)]
        cell = Image.new("L", (adv0, height), 0)
        for y, row in enumerate(rows):
            for x, px in enumerate(row):
                if px == "#":
                    cell.putpixel((x, y), 255)
        glyphs[ch] = cell
    return glyphs, baseline, height


def _size_for_cap(path, cap):
    """Smallest size whose '0' is at least cap rows tall (hinted, 1-bit)."""
    for size in range(cap, cap * 2):
        box = _render(ImageFont.truetype(path, size), "0").getbbox()
        if box and box[3] - box[1] >= cap:
            return size
    raise SystemExit("no size for cap %d" % cap)


def _render(font, ch):
    size = font.size
    im = Image.new("L", (size * 3, size * 3), 0)
    d = ImageDraw.Draw(im)
    d.fontmode = "1"  # FreeType monochrome with hinting: crisp 1-bit glyphs
    d.text((size, size), ch, font=font, fill=255)
    return im


def _ttf_glyphs(path, cap, chars, spacing):
    size = _size_for_cap(path, cap)
    font = ImageFont.truetype(path, size)
    ims = {ch: _render(font, ch) for ch in chars}
    boxes = {}
    for ch, im in ims.items():
        box = im.getbbox()
        if box:
            boxes[ch] = box
    top = min(b[1] for b in boxes.values())
    bottom = max(b[3] for b in boxes.values())
    base = boxes["0"][3]  # digits sit on the baseline
    digit_w = max(boxes[c][2] - boxes[c][0] for c in "0123456789")
    glyphs = {}
    for ch in chars:
        if ch not in boxes:  # the space: half a digit
            glyphs[ch] = Image.new("L", (digit_w // 2 + spacing, bottom - top), 0)
            continue
        x0, _, x1, _ = boxes[ch]
        ink = x1 - x0
        width = digit_w if ch in "0123456789\u00a5" else ink  # tabular digits
        pad = max(1, cap // 12) if ch in ".,:" else 0  # air around the decimal point
        cell = Image.new("L", (2 * pad + width + spacing, bottom - top), 0)
        crop = ims[ch].crop((x0, top, x1, bottom))
        cell.paste(crop, (pad + (width - ink) // 2, 0))
        glyphs[ch] = cell
    return glyphs, base - top, bottom - top, size


def _encode(glyphs, chars, height):
    """(widths, glyph records, top, ink, maxw): records of maxw * pages bytes, page-major."""
    pages = (height + 7) // 8
    maxw = max(glyphs[ch].size[0] for ch in chars)
    widths = bytearray()
    data = bytearray()
    ink_rows = set()
    for ch in chars:
        im = glyphs[ch]
        w = im.size[0]
        widths.append(w)
        rec = bytearray(maxw * pages)
        for p in range(pages):
            for x in range(w):
                byte = 0
                for bit in range(8):
                    y = p * 8 + bit
                    if y < height and im.getpixel((x, y)):
                        byte |= 1 << bit
                        ink_rows.add(y)
                rec[p * w + x] = byte
        data += rec
    top = min(ink_rows)
    return bytes(widths), bytes(data), top, max(ink_rows) + 1 - top, maxw


def font_block(name, kind, source, cap, chars, spacing):
    """The bytes of one font in the file, and a line saying what it is."""
    if kind == "pcf":
        glyphs, baseline, height = _pcf_glyphs(name, source, chars)
        what = "text, X11 misc-fixed %s cells" % source
    else:
        glyphs, baseline, height, size = _ttf_glyphs(source, cap, chars, spacing)
        what = "digits %d px tall (DejaVu Sans Condensed Bold at %d px, monochrome hinting)" % (cap, size)
    widths, data, top, ink, maxw = _encode(glyphs, chars, height)
    enc = chars.encode()
    assert max(height, baseline, top, ink, len(chars), maxw, len(enc)) < 256
    head = bytes((height, baseline, top, ink, len(chars), maxw, len(enc), 0))
    return head + enc + widths + data, "%s: %s, %d glyphs, cell %d rows" % (name, what, len(chars), height)


def build():
    """The whole file and one line per font."""
    blocks = [font_block(*spec) for spec in FONTS]
    out = bytearray(b"UIF1" + bytes((len(FONTS),)))
    at = len(out) + 12 * len(FONTS)
    for spec, (block, _) in zip(FONTS, blocks, strict=True):
        out += spec[0].encode().ljust(8, b"\0") + struct.pack("<I", at)
        at += len(block)
    for block, _ in blocks:
        out += block
    return bytes(out), [line for _, line in blocks]


def main(path):
    data, lines = build()
    with open(path, "wb") as f:
        f.write(data)
    for line in lines:
        print(line)
    print("%s: %d bytes" % (path, len(data)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join("lib", "ui", "fonts.bin"))
