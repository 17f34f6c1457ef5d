#!/usr/bin/python3
"""Renders a terminal screen captured with `tmux capture-pane -e -p` (text with SGR colour
sequences) to a PNG, one monospace cell per character.

usage: ansi2png.py SCREEN.ansi OUT.png COLUMNS ROWS
Needs Pillow (Debian: python3-pil) and DejaVu Sans Mono (fonts-dejavu-core).
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SIZE = 15
BG = (24, 26, 31)
FG = (212, 212, 212)
# xterm's 16 colours, a little softened.
PALETTE = [
    (40, 42, 46), (224, 88, 88), (110, 200, 110), (230, 200, 90),
    (100, 150, 230), (200, 120, 210), (90, 200, 210), (200, 200, 200),
    (110, 112, 118), (255, 120, 120), (140, 230, 140), (255, 230, 120),
    (140, 180, 255), (230, 150, 240), (130, 230, 240), (255, 255, 255),
]


def color256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


def parse(text, cols, rows):
    """Cells as (char, fg, bg, bold, underline) per row."""
    grid = []
    sgr = re.compile(r"\x1b\[([0-9;:]*)m")
    for line in text.split("\n")[:rows]:
        fg, bg, bold, under, rev = None, None, False, False, False
        row = []
        pos = 0
        for m in list(sgr.finditer(line)) + [None]:
            chunk = line[pos:m.start()] if m else line[pos:]
            for ch in chunk:
                if ch < " ":
                    continue
                f, b = (fg or FG), (bg or BG)
                if rev:
                    f, b = b, f
                row.append((ch, f, b, bold, under))
            if not m:
                break
            pos = m.end()
            codes = [int(c) if c else 0 for c in re.split("[;:]", m.group(1))] or [0]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    fg, bg, bold, under, rev = None, None, False, False, False
                elif c == 1:
                    bold = True
                elif c == 22:
                    bold = False
                elif c == 4:
                    under = True
                elif c == 24:
                    under = False
                elif c == 7:
                    rev = True
                elif c == 27:
                    rev = False
                elif 30 <= c <= 37:
                    fg = PALETTE[c - 30]
                elif 90 <= c <= 97:
                    fg = PALETTE[c - 90 + 8]
                elif c == 39:
                    fg = None
                elif 40 <= c <= 47:
                    bg = PALETTE[c - 40]
                elif 100 <= c <= 107:
                    bg = PALETTE[c - 100 + 8]
                elif c == 49:
                    bg = None
                elif c in (38, 48) and i + 1 < len(codes):
                    if codes[i + 1] == 5 and i + 2 < len(codes):
                        col = color256(codes[i + 2])
                        i += 2
                    elif codes[i + 1] == 2 and i + 4 < len(codes):
                        col = tuple(codes[i + 2:i + 5])
                        i += 4
                    else:
                        col = None
                    if c == 38:
                        fg = col
                    else:
                        bg = col
                i += 1
        row = row[:cols]
        row += [(" ", FG, BG, False, False)] * (cols - len(row))
        grid.append(row)
    while len(grid) < rows:
        grid.append([(" ", FG, BG, False, False)] * cols)
    return grid


def main():
    src, out, cols, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    regular = ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", SIZE)
    bold = ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", SIZE)
    cw = round(regular.getlength("M"))
    ch = round(SIZE * 1.3)
    pad = 12
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), BG)
    draw = ImageDraw.Draw(img)
    with open(src, encoding="utf-8", errors="replace") as f:
        grid = parse(f.read(), cols, rows)
    for y, row in enumerate(grid):
        for x, (c, fg, bg, b, u) in enumerate(row):
            x0, y0 = pad + x * cw, pad + y * ch
            if bg != BG:
                draw.rectangle([x0, y0, x0 + cw - 1, y0 + ch - 1], fill=bg)
            if c in "─━│┌┐└┘├┤┬┴┼":
                # Box drawing: drawn as lines so borders join across the line spacing.
                mx, my = x0 + cw // 2, y0 + ch // 2
                w = 2 if c == "━" else 1
                if c in "─━┌└├┬┴┼":
                    draw.line([mx, my, x0 + cw, my], fill=fg, width=w)
                if c in "─━┐┘┤┬┴┼":
                    draw.line([x0, my, mx, my], fill=fg, width=w)
                if c in "│┌┐├┤┬┼":
                    draw.line([mx, my, mx, y0 + ch], fill=fg, width=w)
                if c in "│└┘├┤┴┼":
                    draw.line([mx, y0, mx, my], fill=fg, width=w)
            elif c == "█":
                draw.rectangle([x0, y0 + 2, x0 + cw - 1, y0 + ch - 3], fill=fg)
            elif c != " ":
                draw.text((x0, y0 + 2), c, font=bold if b else regular, fill=fg)
            if u:
                draw.line([x0, y0 + ch - 2, x0 + cw, y0 + ch - 2], fill=fg)
    img.save(out)


if __name__ == "__main__":
    main()
