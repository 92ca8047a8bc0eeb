"""Charts as inline SVG, drawn on the server: pure functions, no I/O, no JavaScript.

Every chart comes with its data as rows, which the page shows as a table: the text
alternative for people who cannot see the picture (the SVG itself is labelled too).
"""

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

__all__ = ["Bar", "Chart", "bar_chart", "histogram", "score_bar"]

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 44
MARGIN_BOTTOM = 40
MARGIN_TOP = 12


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG picture plus the rows it shows (for the text alternative)."""

    chart_id: str
    title: str
    value_label: str
    bars: tuple[Bar, ...]
    svg: Markup

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _ticks(top: float) -> list[float]:
    """Up to five round y-axis ticks from 0 to at least ``top``."""
    if top <= 0:
        return [0.0]
    step = 1.0
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        step = float(candidate)
        if top / step <= 5:
            break
    ticks, value = [], 0.0
    while value < top + step:
        ticks.append(value)
        value += step
    return ticks


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, value_label: str = "count") -> Chart:
    """A vertical bar chart; each bar carries a ``<title>`` with its label and value."""
    e = html.escape
    ticks = _ticks(max((bar.value for bar in bars), default=0.0))
    top = ticks[-1] or 1.0
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg class="chart" id="{e(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{e(chart_id)}-title {e(chart_id)}-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{e(chart_id)}-title">{e(title)}</title>',
        f'<desc id="{e(chart_id)}-desc">'
        + e(", ".join(f"{bar.label}: {_fmt(bar.value)}" for bar in bars) or "no data")
        + "</desc>",
    ]
    for tick in ticks:
        y = MARGIN_TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
        )
    label_every = max(1, len(bars) // 12)  # keep the x labels legible when there are many bars
    for i, bar in enumerate(bars):
        height = plot_h * bar.value / top
        x = MARGIN_LEFT + i * slot + slot * 0.1
        y = MARGIN_TOP + plot_h - height
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{height:.1f}" '
            f'data-label="{e(bar.label)}" data-value="{_fmt(bar.value)}">'
            f"<title>{e(bar.label)}: {_fmt(bar.value)}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text class="label" x="{x + slot * 0.4:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
                f'text-anchor="middle">{e(bar.label)}</text>'
            )
    parts.append(f'<text class="axis" x="{MARGIN_LEFT}" y="{HEIGHT - 6}">{e(value_label)}</text></svg>')
    return Chart(chart_id, title, value_label, tuple(bars), Markup("".join(parts)))


def histogram(values: Iterable[float], *, bins: int = 10, lo: float = 0.0, hi: float = 1.0) -> list[Bar]:
    """Counts of ``values`` in ``bins`` equal bins over [lo, hi]; the last bin includes ``hi``."""
    counts = [0] * bins
    width = (hi - lo) / bins
    for value in values:
        index = min(bins - 1, max(0, int((value - lo) / width)))
        counts[index] += 1
    return [Bar(f"{lo + i * width:.1f}-{lo + (i + 1) * width:.1f}", counts[i]) for i in range(bins)]


def score_bar(score: float, *, width: int = 160) -> Markup:
    """A small horizontal bar for a score in [0, 1]; decorative, the score is printed beside it."""
    filled = max(0.0, min(1.0, score)) * width
    return Markup(
        f'<svg class="score-bar" width="{width}" height="12" viewBox="0 0 {width} 12" aria-hidden="true" '
        f'focusable="false"><rect class="track" width="{width}" height="12" rx="3"/>'
        f'<rect class="fill" width="{filled:.1f}" height="12" rx="3"/></svg>'
    )
