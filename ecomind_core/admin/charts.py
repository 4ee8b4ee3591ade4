"""A small server-rendered bar chart (SVG): no JavaScript, nothing fetched."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float


def bar_chart(points, *, width=720, height=180, gap=2):
    """Bars for ``[(label, value), ...]`` scaled to the largest value."""
    if not points:
        return []
    top = max(value or 0 for _, value in points) or 1
    step = width / len(points)
    return [
        Bar(
            x=round(i * step + gap / 2, 2), y=round(height - (value or 0) / top * height, 2),
            width=round(max(step - gap, 1), 2), height=round((value or 0) / top * height, 2),
            label=str(label), value=value or 0,
        )
        for i, (label, value) in enumerate(points)
    ]
