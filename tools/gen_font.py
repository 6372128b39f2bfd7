"""Generate the bitmap fonts in lib/font_*.py (host side, run once; the output is committed).

Usage: .venv/bin/python tools/gen_font.py [OUTDIR]   (default: lib)

Needs Pillow (pip install pillow==12.3.0, into .venv only) and two Debian font
packages: fonts-dejavu-extra (DejaVu Sans Condensed Bold, for the digits) and
xfonts-base (the X11 misc-fixed bitmap fonts, for the small text). Nothing at
run time needs Pillow: the device and the host only import the generated modules.

Generated module format (read by lib/screens.py):
  HEIGHT    rows of a glyph cell        BASELINE  rows above the baseline
  TOP, INK  first inked row and number of inked rows (for layout checks)
  CHARS     the characters, in glyph order (str)
  WIDTHS    bytes: advance of each glyph in columns (spacing included)
  OFFSETS   bytes: 2 per glyph, little-endian start of the glyph in DATA; None for a
            monospace font (glyph i starts at i * WIDTHS[i] * pages: saves the table's heap)
  DATA      bytes: MONO_VLSB columns, (HEIGHT + 7) // 8 bytes per column, top rows first
"""

import gzip
import os
import subprocess
import sys

from PIL import Image, ImageDraw, ImageFont, PcfFontFile

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf"
MISC = "/usr/share/fonts/X11/misc/%s-ISO8859-1.pcf.gz"

DEJAVU_LICENCE = (
    "DejaVu Sans Condensed Bold (DejaVu fonts 2.37, fonts-dejavu-extra).\n"
    "Licence: Bitstream Vera Fonts Copyright (c) 2003 Bitstream, Inc.; DejaVu changes are\n"
    "in the public domain. Free to use, copy, modify and embed; the fonts themselves may\n"
    "not be sold alone. See https://dejavu-fonts.github.io/License.html"
)
MISC_LICENCE = 'X11 misc-fixed %s (xfonts-base). Public domain\n("Public domain font. Share and enjoy.").'

# Digits and what goes with numbers; the yen sign for the charge.
DIGITS = " ,-.0123456789\u00a5"
# Printable ASCII plus the yen sign.
SMALL = "".join(chr(c) for c in range(32, 127)) + "\u00a5"

# (module, kind, source, size, characters, spacing columns)
FONTS = (
    ("font_6x10", "pcf", "6x10", 0, SMALL, 0),  # labels on 160x80
    ("font_7x13b", "pcf", "7x13B", 0, SMALL, 0),  # labels on 240x135
    ("font_d14", "ttf", DEJAVU, 14, DIGITS, 1),  # numbers on 160x80
    ("font_d26", "ttf", DEJAVU, 26, DIGITS, 2),  # power on 160x80
    ("font_d22", "ttf", DEJAVU, 22, DIGITS, 2),  # numbers on 240x135
    ("font_d44", "ttf", DEJAVU, 44, DIGITS, 3),  # power on 240x135
)


def _pcf_glyphs(name, chars):
    """Each char -> (image 'L' of the whole cell, advance); baseline; cell height."""
    with gzip.open(MISC % name) as f:
        font = PcfFontFile.PcfFontFile(f, "iso8859-1")  # pyright: ignore[reportArgumentType]
    glyphs = {}
    height = baseline = 0
    for ch in chars:
        glyph = font.glyph[ord(ch)]
        assert glyph is not None, ch
        (adv, _), (x0, y0, x1, y1), _, im = glyph
        height = y1 - y0
        baseline = -y0
        cell = Image.new("L", (adv, height), 0)
        cell.paste(im.convert("L"), (x0, 0))
        glyphs[ch] = cell.point(lambda v: 255 if v else 0)
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
        pad = max(1, cap // 12) if ch in ".," else 0  # air around the decimal point
        cell = Image.new("L", (2 * pad + width + spacing, bottom - top), 0)
        crop = ims[ch].crop((x0, top, x1, bottom))
        cell.paste(crop, (pad + (width - ink) // 2, 0))
        glyphs[ch] = cell
    return glyphs, base - top, bottom - top, size


def _encode(glyphs, chars, height):
    pages = (height + 7) // 8
    widths = bytearray()
    offsets = bytearray()
    data = bytearray()
    ink_rows = set()
    for ch in chars:
        im = glyphs[ch]
        w = im.size[0]
        widths.append(w)
        offsets += len(data).to_bytes(2, "little")
        for x in range(w):
            for p in range(pages):
                byte = 0
                for bit in range(8):
                    y = p * 8 + bit
                    if y < height and im.getpixel((x, y)):
                        byte |= 1 << bit
                        ink_rows.add(y)
                data.append(byte)
    if len(data) > 0xFFFF:
        raise SystemExit("font too large for 16-bit offsets")
    top = min(ink_rows)
    return bytes(widths), bytes(offsets), bytes(data), top, max(ink_rows) + 1 - top


def _bytes_literal(b, indent="    "):
    lines = []
    for i in range(0, len(b), 24):
        lines.append(indent + repr(bytes(b[i : i + 24])))
    return "(\n" + "\n".join(lines) + "\n)"


def _str_literal(s, indent="    "):
    parts = [ascii(s[i : i + 48]) for i in range(0, len(s), 48)]
    return parts[0] if len(parts) == 1 else "(\n" + "\n".join(indent + p for p in parts) + "\n)"


def generate(module, kind, source, cap, chars, spacing):
    if kind == "pcf":
        glyphs, baseline, height = _pcf_glyphs(source, chars)
        licence = MISC_LICENCE % source
        what = "Small text, %s cells" % source
    else:
        glyphs, baseline, height, size = _ttf_glyphs(source, cap, chars, spacing)
        licence = DEJAVU_LICENCE
        what = "Digits %d px tall (DejaVu at %d px, monochrome hinting)" % (cap, size)
    widths, offsets, data, top, ink = _encode(glyphs, chars, height)
    out = [
        '"""%s: generated by tools/gen_font.py, do not edit.' % what,
        "",
        "Source: " + licence,
        '"""',
        "",
        "HEIGHT = %d" % height,
        "BASELINE = %d" % baseline,
        "TOP = %d" % top,
        "INK = %d" % ink,
        "CHARS = %s" % _str_literal(chars),
        "WIDTHS = %s" % _bytes_literal(widths),
        "OFFSETS = %s" % ("None" if len(set(widths)) == 1 else _bytes_literal(offsets)),
        "DATA = %s" % _bytes_literal(data),
        "",
    ]
    return "\n".join(out), len(data)


def main(outdir):
    paths = []
    for spec in FONTS:
        text, size = generate(*spec)
        path = os.path.join(outdir, spec[0] + ".py")
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
        print("%s: %d glyphs, %d bytes of bitmap" % (path, len(spec[4]), size))
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", *paths], check=False)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "lib")
