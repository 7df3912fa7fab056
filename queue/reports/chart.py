"""The day's chart, drawn with pillow: arrivals and served per hour, waiting time per hour, and
the figures per category, under a title line with the day's main figures.

The caller finds the Chinese font (the queue does not look for fonts: kiosk hands over
`cabin.drivers.fonts.cjk_font()`'s file).
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1400, 1050
MARGIN = 70
INK, GRID, PAPER = (40, 40, 40), (220, 220, 220), (255, 255, 255)
BLUE, ORANGE, GREEN, RED = (52, 101, 164), (230, 140, 40), (90, 160, 80), (200, 60, 60)


def chart_png(report: dict, font_path: str, font_index: int = 0) -> bytes:
    fonts = {size: ImageFont.truetype(font_path, size, index=font_index) for size in (16, 18, 26)}
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    name = report.get("station_name") or report["station"]
    draw.text((MARGIN, 20), f"{name}  {report['day']}  业务量统计", font=fonts[26], fill=INK)
    draw.text((MARGIN, 58), _headline(report), font=fonts[18], fill=INK)

    hours = _active_hours(report["by_hour"])
    by_hour = {row["hour"]: row for row in report["by_hour"]}
    labels = [f"{h}时" for h in hours]
    top = 100
    panel = (HEIGHT - top - 40) // 3
    _bars(draw, (MARGIN, top, WIDTH - MARGIN, top + panel - 30), labels,
          [("取号（到达）", [by_hour[h]["tickets_issued"] for h in hours], BLUE),
           ("办结", [by_hour[h]["errands_done"] for h in hours], GREEN)],
          "每小时到达与办结（件）", fonts)
    top += panel
    _bars(draw, (MARGIN, top, WIDTH - MARGIN, top + panel - 30), labels,
          [("等候中位数", [by_hour[h]["wait_p50_min"] for h in hours], ORANGE),
           ("等候90%分位", [by_hour[h]["wait_p90_min"] for h in hours], RED)],
          "每小时等候时间（分钟，按开始等候的时段）", fonts)
    top += panel
    categories = report["by_category"]
    _bars(draw, (MARGIN, top, WIDTH - MARGIN, top + panel - 30), [c["name"] or str(c["category"]) for c in categories],
          [("取号", [c["tickets_issued"] for c in categories], BLUE),
           ("办结事项", [c["errands_done"] for c in categories], GREEN),
           ("等候中位数（分钟）", [c["wait_p50_min"] for c in categories], ORANGE)],
          "各类别", fonts, values_on_bars=True)
    out = io.BytesIO()
    image.save(out, format="PNG")  # optimize=True: 3 % smaller, three times as slow
    return out.getvalue()


def _headline(r: dict) -> str:
    def num(v, unit=""):
        return "—" if v is None else f"{v}{unit}"

    share = "—" if r.get("sla_share") is None else f"{r['sla_share']:.0%}"
    one_stop = "—" if r.get("one_stop_share") is None else f"{r['one_stop_share']:.0%}"
    return (f"取号 {r['tickets_issued']}  办结事项 {r['errands_done']}  等候中位数 {num(r['wait_p50_min'], ' 分钟')}"
            f"  90%分位 {num(r['wait_p90_min'], ' 分钟')}  {r['sla_target_min']} 分钟内叫号 {share}"
            f"  一次排队办结 {one_stop}")


def _active_hours(rows: list[dict]) -> list[int]:
    busy = [r["hour"] for r in rows if r["tickets_issued"] or r["errands_done"] or r["calls"]]
    first, last = (min(busy), max(busy)) if busy else (8, 18)
    return list(range(first, last + 1))


def _bars(draw: ImageDraw.ImageDraw, box: tuple, labels: list[str], series: list[tuple], title: str, fonts,
          values_on_bars: bool = False) -> None:
    left, top, right, bottom = box
    draw.text((left, top), title, font=fonts[18], fill=INK)
    x = left + draw.textlength(title, font=fonts[18]) + 30
    for name, _, colour in series:  # the legend, on the title's line
        draw.rectangle((x, top + 4, x + 14, top + 18), fill=colour)
        draw.text((x + 20, top + 1), name, font=fonts[16], fill=INK)
        x += 20 + draw.textlength(name, font=fonts[16]) + 24
    top += 30
    plot_bottom = bottom - 24
    values = [v for _, vs, _ in series for v in vs if v is not None]
    peak = _nice_ceiling(max(values) if values else 0)
    for i in range(5):  # grid lines with their values
        y = plot_bottom - (plot_bottom - top) * i / 4
        draw.line((left + 40, y, right, y), fill=GRID)
        draw.text((left, y - 9), _short(peak * i / 4), font=fonts[16], fill=INK)
    slot = (right - left - 50) / max(1, len(labels))
    bar = max(2.0, slot * 0.8 / max(1, len(series)))
    for i, label in enumerate(labels):
        x0 = left + 50 + i * slot + slot * 0.1
        for j, (_, vs, colour) in enumerate(series):
            v = vs[i]
            if v:
                h = (plot_bottom - top) * v / peak
                draw.rectangle((x0 + j * bar, plot_bottom - h, x0 + (j + 1) * bar - 1, plot_bottom), fill=colour)
                if values_on_bars:  # counts and minutes share the axis: the number says which is which
                    text = _short(v)
                    w = draw.textlength(text, font=fonts[16])
                    draw.text((x0 + j * bar + bar / 2 - w / 2, plot_bottom - h - 20), text, font=fonts[16], fill=INK)
        w = draw.textlength(label, font=fonts[16])
        draw.text((x0 + slot * 0.4 - w / 2, plot_bottom + 4), label, font=fonts[16], fill=INK)


def _nice_ceiling(value: float) -> float:
    """1, 2, 5 times a power of ten, at or above the value (at least 1)."""
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return max(1.0, m * step)
    return max(1.0, 10 * step)


def _short(v: float) -> str:
    return f"{v:.0f}" if v == int(v) else f"{v:.1f}"
