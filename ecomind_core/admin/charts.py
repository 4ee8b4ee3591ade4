"""A small server-rendered daily bar chart (SVG) with axes: no JavaScript, nothing fetched.

One bar slot per day of the period, so the x axis is a time axis (a day
without data is a gap, not a missing slot); a y axis from zero with round
ticks (1, 2 or 5 times a power of ten) labelled in the measure's unit.
The template draws what :func:`daily_bar_chart` lays out.
"""

import datetime
import math
from dataclasses import dataclass

#: The most labelled dates and value ticks on an axis.
MAX_X_LABELS, MAX_Y_TICKS = 7, 5


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


@dataclass(frozen=True)
class Tick:
    #: Pixels from the SVG's left (x axis) or top (y axis).
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    #: The plot area's edges, in pixels.
    left: int
    top: int
    right: int
    bottom: int
    unit: str
    bars: list
    x_ticks: list
    y_ticks: list


def daily_bar_chart(values, start, end, unit, *, width=720, height=200, whole_numbers=False):
    """``values`` (date -> number, days without data left out) from ``start`` to ``end`` as a Chart.

    ``whole_numbers``: the values are counts, so no tick falls between two (no "0.5 errors").
    """
    # Room for the value labels on the left, the unit above, and a date label centred under the last day.
    left, top, right, bottom = 72, 22, width - 36, height - 26
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    ticks = round_ticks(max((values.get(day) or 0 for day in days), default=0), whole_numbers=whole_numbers)
    scale = (bottom - top) / ticks[-1]
    step = (right - left) / len(days)
    gap = min(2, step / 4)
    bars = [
        Bar(
            x=round(left + i * step + gap / 2, 2), y=round(bottom - value * scale, 2),
            width=round(step - gap, 2), height=round(value * scale, 2), label=day.isoformat(), value=value,
        )
        for i, day in enumerate(days)
        if (value := values.get(day) or 0)
    ]
    return Chart(
        width=width, height=height, left=left, top=top, right=right, bottom=bottom, unit=unit, bars=bars,
        x_ticks=[
            Tick(round(left + (i + 0.5) * step, 2), date_label(days[i], with_year=i in (0, len(days) - 1)))
            for i in labelled_days(len(days))
        ],
        y_ticks=[Tick(round(bottom - tick * scale, 2), number_label(tick, ticks[1])) for tick in ticks],
    )


def round_ticks(top_value, whole_numbers=False):
    """0, step, 2 step, ... up to the first at or above ``top_value``; step is 1, 2 or 5 times a power of ten."""
    if top_value <= 0:
        return [0, 1]
    rough = top_value / (MAX_Y_TICKS - 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    if whole_numbers:
        step = max(step, 1)
    return [i * step for i in range(math.ceil(top_value / step - 1e-9) + 1)]


def labelled_days(count):
    """Indexes of the days to label: the first, the last and evenly spaced ones between."""
    if count <= MAX_X_LABELS:
        return list(range(count))
    every = math.ceil((count - 1) / (MAX_X_LABELS - 1))
    between = list(range(every, count - 1, every))
    if between and count - 1 - between[-1] < every / 2:  # too close to the last label to read
        between.pop()
    return [0, *between, count - 1]


def date_label(day, *, with_year):
    return f"{day.day} {day:%b}{f' {day.year}' if with_year else ''}"


def number_label(value, step):
    """``value`` with as many decimals as ``step`` needs (0.005 -> 3) and thousands separators."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:,.{decimals}f}"
