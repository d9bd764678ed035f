"""Charts as SVG, drawn on the server from numbers: no chart library, no script, no CDN (the
machines that run chatops may have no internet, and the Content-Security-Policy allows no inline
script).

Every piece is a :class:`markupsafe.Markup` template filled with ``Markup.format``, which
escapes what it is given: numbers this module formatted, a CSS class from :data:`CLASSES`, axis
labels it wrote. So a template shows a chart as it is, and nothing a bot reported (a name, a
model, a feature) could become markup even if it got here; templates write those beside the
chart, escaped by Jinja.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from chatops.presentation.formatting import describe_duration

WIDTH, HEIGHT = 720, 160
LEFT, RIGHT, TOP, BOTTOM = 64, 10, 10, 22
"""The plot area's margins: room for the axis labels."""
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
CLASSES = frozenset(
    {"rss", "cpu", "quota", "forecast", "tokens", "cost", "ok", "warning", "critical", "exhausted"}
)
"""The CSS classes a chart's marks may carry (``static/style.css`` colours them)."""

Point = tuple[float, float]
Unit = Callable[[float], str]

_LINE = Markup('<line class="{}" x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"/>')
_TEXT = Markup('<text class="axis" x="{:.1f}" y="{:.1f}" text-anchor="{}">{}</text>')


def _plain(value: float) -> str:
    return f"{value:,.4g}"


@dataclass(frozen=True, slots=True)
class Line:
    points: Sequence[Point]
    css: str
    gap: float | None = None
    """Break the line where two points are further apart than this many seconds (a bot that
    sent no heartbeat for a while has no line there, rather than a straight one across)."""


def css_class(name: str) -> str:
    """``name`` if it is one of :data:`CLASSES` (a typo fails loudly, not as an unstyled mark)."""
    if name not in CLASSES:
        raise ValueError(f"unknown chart class {name!r}")
    return name


def thin(points: Sequence[Point], start: float, end: float, most: int = PLOT_W) -> list[Point]:
    """At most ``most`` points: the mean of each slice of time (a week of heartbeats is tens of
    thousands of points; the chart is a few hundred wide)."""
    if len(points) <= most:
        return list(points)
    width = ((end - start) or 1.0) / most
    slices: dict[int, list[Point]] = {}
    for ts, value in points:
        slices.setdefault(min(most - 1, max(0, int((ts - start) / width))), []).append((ts, value))
    return [
        (sum(ts for ts, _ in chunk) / len(chunk), sum(v for _, v in chunk) / len(chunk))
        for _, chunk in sorted(slices.items())
    ]


def runs(points: Sequence[Point], gap: float | None) -> list[list[Point]]:
    """``points`` cut where two are more than ``gap`` apart (never, without one)."""
    cut: list[list[Point]] = []
    for point in points:
        if cut and (gap is None or point[0] - cut[-1][-1][0] <= gap):
            cut[-1].append(point)
        else:
            cut.append([point])
    return cut


@dataclass(frozen=True, slots=True)
class Frame:
    """Where ``start``..``end`` and 0..``top`` fall in the plot area."""

    start: float
    end: float
    top: float

    def x(self, ts: float) -> float:
        return LEFT + (ts - self.start) / ((self.end - self.start) or 1.0) * PLOT_W

    def y(self, value: float) -> float:
        share = min(1.0, max(0.0, value / (self.top or 1.0)))
        return TOP + PLOT_H - share * PLOT_H

    def draw(self, run: Sequence[Point], css: str) -> Markup:
        if len(run) == 1:  # a lone sample: a dot, not an invisible line
            return Markup('<circle class="{}" cx="{:.1f}" cy="{:.1f}" r="2"/>').format(
                css, self.x(run[0][0]), self.y(run[0][1])
            )
        coords = " ".join(f"{self.x(ts):.1f},{self.y(v):.1f}" for ts, v in run)
        return Markup('<polyline class="{}" points="{}"/>').format(css, coords)

    def svg(self, body: Sequence[Markup], *, now: float, unit: Unit, label: str) -> Markup:
        """The chart: its axes, ``body``, and the times at its ends (and now, if within)."""
        bottom, top = TOP + PLOT_H, float(TOP)
        ticks = (
            [self.start, now, self.end] if self.start < now < self.end else [self.start, self.end]
        )
        axes = [
            _LINE.format("grid", LEFT, bottom, WIDTH - RIGHT, bottom),
            _LINE.format("grid", LEFT, top, WIDTH - RIGHT, top),
            _TEXT.format(LEFT - 6, top + 10, "end", unit(self.top)),
            _TEXT.format(LEFT - 6, bottom, "end", "0"),
        ]
        for ts in ticks:
            anchor = "start" if ts == self.start else "end" if ts == self.end else "middle"
            axes.append(_TEXT.format(self.x(ts), HEIGHT - 6, anchor, _relative(ts, now)))
        return Markup('<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">').format(
            WIDTH, HEIGHT, label
        ) + Markup("").join([*axes, *body, Markup("</svg>")])


def _relative(ts: float, now: float) -> str:
    if abs(ts - now) < 1:
        return "now"
    return ("-" if ts < now else "+") + describe_duration(abs(ts - now))


def line_chart(
    lines: Sequence[Line],
    *,
    start: float,
    end: float,
    now: float,
    label: str,
    top: float | None = None,
    unit: Unit = _plain,
    levels: Sequence[tuple[float, str]] = (),
    marks: Sequence[float] = (),
) -> Markup:
    """Lines over ``start``..``end`` (epoch seconds), from 0 up to ``top`` (a tenth over the
    highest value when not given). ``levels``: horizontal lines (a threshold and its class);
    ``marks``: vertical lines (a quota's reset)."""
    shown = [
        (line, thin([p for p in line.points if start <= p[0] <= end], start, end)) for line in lines
    ]
    highest = max((v for _, points in shown for _, v in points), default=0.0)
    frame = Frame(start, end, top if top is not None else (highest * 1.1 or 1.0))
    body = [
        _LINE.format(f"level {css_class(css)}", LEFT, frame.y(v), WIDTH - RIGHT, frame.y(v))
        for v, css in levels
    ]
    body += [
        _LINE.format("mark", frame.x(ts), TOP, frame.x(ts), TOP + PLOT_H)
        for ts in marks
        if start <= ts <= end
    ]
    for line, points in shown:
        css = css_class(line.css)
        body += [frame.draw(run, css) for run in runs(points, line.gap)]
    return frame.svg(body, now=now, unit=unit, label=label)


def columns(
    values: Sequence[float],
    *,
    start: float,
    end: float,
    now: float,
    css: str,
    label: str,
    unit: Unit = _plain,
) -> Markup:
    """One column per equal slice of ``start``..``end``, oldest first (usage per hour)."""
    frame = Frame(start, end, max(values, default=0.0) or 1.0)
    width = PLOT_W / max(1, len(values))
    rect = Markup('<rect class="{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"/>')
    body = [
        rect.format(
            css_class(css),
            LEFT + index * width,
            frame.y(value),
            max(1.0, width - 1),
            TOP + PLOT_H - frame.y(value),
        )
        for index, value in enumerate(values)
        if value > 0
    ]
    return frame.svg(body, now=now, unit=unit, label=label)


def bar(fraction: float, css: str, marks: Sequence[float] = ()) -> Markup:
    """A horizontal bar ``fraction`` full (0..1), with thin ticks at other fractions (a quota's
    thresholds, the cache's warning size): the dashboard's progress bar, drawn without a style
    attribute (the Content-Security-Policy allows none)."""
    fill = min(1.0, max(0.0, fraction)) * 100
    ticks = [
        _LINE.format("tick", x, 0, x, 10) for x in (min(100.0, max(0.0, m * 100)) for m in marks)
    ]
    return Markup(
        '<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" '
        'aria-label="{:.0f}%"><rect class="track" x="0" y="0" width="100" height="10"/>'
        '<rect class="{}" x="0" y="0" width="{:.2f}" height="10"/>'
    ).format(fill, css_class(css), fill) + Markup("").join([*ticks, Markup("</svg>")])
