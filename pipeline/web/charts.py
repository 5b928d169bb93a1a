"""Charts drawn on the server: `render_chart` turns a chart's points into an inline `<svg>`, so the pages need
neither a chart library nor internet access. Every text that comes from the data (title, categories, groups,
labels) is escaped, and each chart names itself to screen readers with a `<title>` and a `<desc>` that lists its
values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from markupsafe import Markup, escape

WIDTH, HEIGHT, EMPTY_HEIGHT = 640, 360, 60
# Okabe–Ito hues and a few darker ones, each at least 3:1 against white (WCAG for graphics), told apart by most
# colour-blind readers; text stays dark (TEXT) whatever the series colour.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#7B3294", "#A6761D", "#CC79A7", "#555555", "#B2182B")
TEXT, AXIS, GRID = "#1a1a1a", "#555555", "#d9d9d9"
MAX_SLICES = 8  # beyond this a pie merges its smallest slices into "other"
LEGEND_WIDTH = 150

PlotType = Literal["bar", "grouped_bar", "pie", "scatter", "biplot", "timeline", "line"]


@dataclass(frozen=True)
class ChartPoint:
    """One point of a chart, as the survey's seed stored it (x and y as strings) with the series it belongs to.

    - bar, pie: x is the category, y the value; group is empty.
    - grouped_bar: x is the category on the axis, group the bar within it (e.g. country and campus).
    - scatter: x and y are numbers; group "observed" or "fitted" (the fitted line's points, in x order).
    - biplot: x and y are the first two principal components; group "score" (label: the row, e.g. a country)
      or "loading" (label: the variable).
    - timeline: x is an ISO 8601 time, y the value, group the series (each drawn with its own colour and marker
      shape, e.g. batch days and speed windows); label, when set, is the point's tooltip.
    - line: the same with a number for x (e.g. a validation score against a parameter, one series per other
      parameter)."""

    x: str
    y: str
    group: str = ""
    label: str = ""


@dataclass(frozen=True)
class Chart:
    id: str  # unique on its page: the prefix of the ids that name the chart to screen readers
    title: str
    plot_type: PlotType
    points: Sequence[ChartPoint]


Points = Sequence[ChartPoint]
Drawing = tuple[list[Markup], str]  # the chart's elements and its text description


def render_chart(chart: Chart, standalone: bool = False) -> Markup:
    """The chart as one inline `<svg>` (a 640×360 viewBox at full width), or a small "No data yet". `standalone`
    gives it its size in pixels instead, for use as an image file (an image has no width to fill)."""
    if not chart.points:
        message = _el("text", "No data yet", x=WIDTH / 2, y=EMPTY_HEIGHT / 2, dy="0.32em", text_anchor="middle")
        return _svg(chart.id, chart.title, ([message], "No data yet"), EMPTY_HEIGHT, standalone)
    return _svg(chart.id, chart.title, _DRAW[chart.plot_type](chart.points), HEIGHT, standalone)


def _svg(ids: str, title: str, drawing: Drawing, height: int, standalone: bool) -> Markup:
    elements, desc = drawing
    size = {"width": WIDTH, "height": height} if standalone else {"width": "100%"}
    return _el("svg", [_el("title", title, id=f"{ids}-title"), _el("desc", desc, id=f"{ids}-desc"), *elements],
               xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {WIDTH} {height}", **size, role="img",
               aria_labelledby=f"{ids}-title {ids}-desc", font_family="sans-serif", font_size=12, fill=TEXT)


def _bar(points: Points) -> Drawing:
    values = [_number(p.y) for p in points]
    box = _Box(64, 24, WIDTH - 16, HEIGHT - 72)
    y = _Scale(_nice_ticks(min(0, *values), max(0, *values)), box.bottom, box.top)
    band = box.width / len(points)
    rotate = _too_wide([p.x for p in points], band)
    elements = _y_axis(y, box)
    for i, (point, value) in enumerate(zip(points, values)):
        middle = box.left + (i + 0.5) * band
        value_y = y(value) + (14 if value < 0 else -4)  # under a negative bar, above a positive one
        elements += [_bar_rect(middle - 0.35 * band, 0.7 * band, y, value, PALETTE[0], f"{point.x}: {_fmt(value)}"),
                     _el("text", _fmt(value), x=middle, y=value_y, text_anchor="middle"),
                     _category_label(middle, box.bottom, point.x, rotate)]
    return elements, ", ".join(f"{p.x}: {_fmt(v)}" for p, v in zip(points, values))


def _grouped_bar(points: Points) -> Drawing:
    categories, groups = _unique(p.x for p in points), _unique(p.group for p in points)
    colour = {group: PALETTE[i % len(PALETTE)] for i, group in enumerate(groups)}
    values = {(p.x, p.group): _number(p.y) for p in points}
    box = _Box(64, 24, WIDTH - LEGEND_WIDTH, HEIGHT - 72)
    y = _Scale(_nice_ticks(min(0, *values.values()), max(0, *values.values())), box.bottom, box.top)
    band = box.width / len(categories)
    slot = 0.8 * band / len(groups)  # every group keeps its place in each category, present or not
    rotate = _too_wide(categories, band)
    elements = _y_axis(y, box)
    for i, category in enumerate(categories):
        left = box.left + (i + 0.1) * band
        elements += [_bar_rect(left + j * slot, 0.9 * slot, y, values[category, group], colour[group],
                               f"{category}, {group}: {_fmt(values[category, group])}")
                     for j, group in enumerate(groups) if (category, group) in values]
        elements.append(_category_label(box.left + (i + 0.5) * band, box.bottom, category, rotate))
    elements += _legend([(_short(group, 16), colour[group]) for group in groups], box.right + 16, box.top)
    desc = "; ".join(f"{category}: " + ", ".join(f"{group} {_fmt(values[category, group])}" for group in groups
                                                 if (category, group) in values) for category in categories)
    return elements, desc


def _pie(points: Points) -> Drawing:
    slices = _merge_small([(p.x, max(_number(p.y), 0.0)) for p in points])  # a negative share has no angle
    total = sum(value for _, value in slices) or 1.0  # all zero: empty slices at 0 %, not a division by zero
    cx, cy, radius = 180.0, HEIGHT / 2, 150.0
    elements, legend, start = [], [], 0.0
    for i, (label, value) in enumerate(slices):
        share, colour = value / total, PALETTE[i % len(PALETTE)]
        elements.append(_el("path", [_el("title", f"{label}: {_fmt(value)} ({_percent(share)})")], class_="slice",
                            d=_slice_path(cx, cy, radius, start, share), fill=colour, stroke="#ffffff"))
        legend.append((f"{_short(label, 24)}: {_percent(share)}", colour))
        start += share
    desc = ", ".join(f"{label}: {_fmt(value)} ({_percent(value / total)})" for label, value in slices)
    if len(slices) < len(points):
        desc += f"; other merges the {len(points) - len(slices) + 1} smallest categories"
    return elements + _legend(legend, 360, 40), desc


def _scatter(points: Points) -> Drawing:
    observed = [(_number(p.x), _number(p.y)) for p in points if p.group != "fitted"]
    fitted = sorted((_number(p.x), _number(p.y)) for p in points if p.group == "fitted")
    box = _Box(64, 24, WIDTH - 24, HEIGHT - 48)
    x, y = _scales(observed + fitted, box, through_origin=False)
    elements = _y_axis(y, box) + _x_axis(x, box)
    if fitted:  # drawn first, so that the points stay visible on top of it
        elements.append(_el("polyline", class_="fitted", points=_coordinates((x(a), y(b)) for a, b in fitted),
                            fill="none", stroke=PALETTE[1], stroke_width=2))
    elements += [_el("circle", [_el("title", f"({_fmt(a)}, {_fmt(b)})")], class_="observed", cx=x(a), cy=y(b),
                     r=3.5, fill=PALETTE[0], fill_opacity=0.8) for a, b in observed]
    desc = f"{len(observed)} observed points"
    if observed:
        desc += (f", x from {_fmt(min(a for a, _ in observed))} to {_fmt(max(a for a, _ in observed))}, "
                 f"y from {_fmt(min(b for _, b in observed))} to {_fmt(max(b for _, b in observed))}")
    if fitted:
        (a0, b0), (a1, b1) = fitted[0], fitted[-1]
        desc += f"; fitted line from ({_fmt(a0)}, {_fmt(b0)}) to ({_fmt(a1)}, {_fmt(b1)})"
    return elements, desc


def _biplot(points: Points) -> Drawing:
    scores = [(p.label, _number(p.x), _number(p.y)) for p in points if p.group != "loading"]
    loadings = [(p.label, _number(p.x), _number(p.y)) for p in points if p.group == "loading"]
    stretch = _arrow_stretch(scores, loadings)
    tips = [(label, a * stretch, b * stretch) for label, a, b in loadings]
    box = _Box(64, 32, WIDTH - 48, HEIGHT - 48)  # room for PC1 and PC2 past the ends of their axes
    # 15 % beyond the farthest point or tip, so that their labels do not run over the tick values
    x, y = _scales([(1.15 * a, 1.15 * b) for _, a, b in scores + tips], box, through_origin=True)
    elements = _y_axis(y, box) + _x_axis(x, box) + _origin_axes(x, y, box)
    for label, a, b in scores:
        elements += [_el("circle", [_el("title", f"{label}: ({_fmt(a)}, {_fmt(b)})")], class_="score", cx=x(a),
                         cy=y(b), r=3.5, fill=PALETTE[0]),
                     _el("text", label, x=x(a) + 5, y=y(b) - 5)]
    elements += [_arrow(x(0), y(0), x(a), y(b), label) for label, a, b in tips]
    return elements, f"Scores: {_listing(scores)}; loadings, drawn as arrows: {_listing(loadings)}"


def _timeline(points: Points) -> Drawing:
    """Series over time on one axis, from zero up."""
    return _series(points, _epoch, _when, time_axis=True)


def _line(points: Points) -> Drawing:
    """Series over a numeric x (e.g. a score against a parameter), the y axis fitted to the values: the
    differences between close scores are what such a chart is for."""
    return _series(points, _number, _fmt, time_axis=False)


def _series(points: Points, x_value: Callable[[str], float], x_text: Callable[[float], str],
            time_axis: bool) -> Drawing:
    """Each group a line through its points with its own colour and marker shape (so they stay apart without
    colour), and a legend."""
    groups = _unique(p.group for p in points)
    series = {group: sorted((x_value(p.x), _number(p.y), p.label) for p in points if p.group == group)
              for group in groups}
    box = _Box(64, 24, WIDTH - LEGEND_WIDTH, HEIGHT - 48)
    xs = [a for rows in series.values() for a, _, _ in rows]
    ys = [v for rows in series.values() for _, v, _ in rows]
    if time_axis:
        x = _Scale(_time_ticks(min(xs), max(xs)), box.left, box.right)
        y = _Scale(_nice_ticks(0, max(ys)), box.bottom, box.top)
        elements = _y_axis(y, box) + _time_axis(x, box)
    else:
        x = _Scale(_nice_ticks(min(xs), max(xs)), box.left, box.right)
        y = _Scale(_nice_ticks(min(ys), max(ys)), box.bottom, box.top)
        elements = _y_axis(y, box) + _x_axis(x, box)
    legend, described = [], []
    for i, (group, rows) in enumerate(series.items()):
        colour, shape = PALETTE[i % len(PALETTE)], _MARKERS[i % len(_MARKERS)]
        if len(rows) > 1:
            elements.append(_el("polyline", class_="series", points=_coordinates((x(a), y(v)) for a, v, _ in rows),
                                fill="none", stroke=colour, stroke_width=2))
        elements += [shape(x(a), y(v), colour, label or f"{group}, {x_text(a)}: {_fmt(v)}") for a, v, label in rows]
        legend.append((_short(group, 18), colour))
        described.append(f"{group}: " + ", ".join(f"{x_text(a)} {_fmt(v)}" for a, v, _ in rows))
    return elements + _legend(legend, box.right + 16, box.top), "; ".join(described)


def _square(cx: float, cy: float, colour: str, tooltip: str) -> Markup:
    return _el("rect", [_el("title", tooltip)], class_="marker", x=cx - 4, y=cy - 4, width=8, height=8, fill=colour)


def _dot(cx: float, cy: float, colour: str, tooltip: str) -> Markup:
    return _el("circle", [_el("title", tooltip)], class_="marker", cx=cx, cy=cy, r=3.5, fill=colour)


_MARKERS = (_square, _dot)
_DRAW = {"bar": _bar, "grouped_bar": _grouped_bar, "pie": _pie, "scatter": _scatter, "biplot": _biplot,
         "timeline": _timeline, "line": _line}


# Shared helpers: scales and ticks, axes, legends, shapes, numbers and text.

@dataclass(frozen=True)
class _Box:
    """The plot area inside the margins, in viewBox pixels."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left


@dataclass(frozen=True)
class _Scale:
    """Maps values from the first to the last tick linearly onto pixels from `start` to `end`."""

    ticks: tuple[float, ...]
    start: float
    end: float

    def __call__(self, value: float) -> float:
        low, high = self.ticks[0], self.ticks[-1]
        return self.start + (value - low) / (high - low) * (self.end - self.start)


def _nice_ticks(low: float, high: float, count: int = 5) -> tuple[float, ...]:
    """About `count` round ticks (1, 2, 2.5 or 5 times a power of ten apart) from at or below `low` to at or above
    `high`."""
    if high <= low:  # a single value still needs an axis with a length
        low, high = (low - 1, high + 1) if low else (0.0, 1.0)
    raw = (high - low) / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)  # float noise adds no empty tick
    return tuple(i * step for i in range(first, last + 1))


def _scales(xy: Sequence[tuple[float, float]], box: _Box, through_origin: bool) -> tuple[_Scale, _Scale]:
    """An x and a y scale covering every point (and the origin when the axes go through it)."""
    xs, ys = [a for a, _ in xy], [b for _, b in xy]
    if through_origin:
        xs, ys = xs + [0.0], ys + [0.0]
    return (_Scale(_nice_ticks(min(xs), max(xs)), box.left, box.right),
            _Scale(_nice_ticks(min(ys), max(ys)), box.bottom, box.top))


def _y_axis(y: _Scale, box: _Box) -> list[Markup]:
    """Horizontal grid lines at the ticks (darker at zero, where bars start), with their values on the left."""
    items = [item for tick in y.ticks for item in (
        _el("line", x1=box.left, y1=y(tick), x2=box.right, y2=y(tick), stroke=AXIS if tick == 0 else GRID),
        _el("text", _fmt(tick), x=box.left - 6, y=y(tick), dy="0.32em", text_anchor="end"))]
    return [_el("g", items, class_="y-axis")]


def _x_axis(x: _Scale, box: _Box) -> list[Markup]:
    """Vertical grid lines at the ticks, with their values under the plot."""
    items = [item for tick in x.ticks for item in (
        _el("line", x1=x(tick), y1=box.top, x2=x(tick), y2=box.bottom, stroke=GRID),
        _el("text", _fmt(tick), x=x(tick), y=box.bottom + 16, text_anchor="middle"))]
    return [_el("g", items, class_="x-axis")]


def _origin_axes(x: _Scale, y: _Scale, box: _Box) -> list[Markup]:
    """Axes through the origin, from which a biplot's components and arrows are read."""
    return [_el("g", [_el("line", x1=box.left, y1=y(0), x2=box.right, y2=y(0), stroke=AXIS),
                      _el("line", x1=x(0), y1=box.top, x2=x(0), y2=box.bottom, stroke=AXIS),
                      _el("text", "PC1", x=box.right + 6, y=y(0), dy="0.32em", font_weight="bold"),
                      _el("text", "PC2", x=x(0), y=box.top - 8, text_anchor="middle", font_weight="bold")],
               class_="origin-axes")]


def _time_ticks(low: float, high: float) -> tuple[float, ...]:
    """Ticks at whole hours or days (whichever gives 2 to 8 of them) from at or below `low` to at or above `high`,
    in epoch seconds."""
    if high <= low:
        low, high = low - 1800, high + 1800
    step = next((s for s in (300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 2 * 86400, 7 * 86400)
                 if (high - low) / s <= 8), 30 * 86400)
    first, last = math.floor(low / step), math.ceil(high / step)
    return tuple(float(i * step) for i in range(first, last + 1))


def _time_axis(x: _Scale, box: _Box) -> list[Markup]:
    """Vertical grid lines at the time ticks, labelled with the day, or the time of day when they fall inside
    one day."""
    items = [item for tick in x.ticks for item in (
        _el("line", x1=x(tick), y1=box.top, x2=x(tick), y2=box.bottom, stroke=GRID),
        _el("text", _when(tick), x=x(tick), y=box.bottom + 16, text_anchor="middle"))]
    return [_el("g", items, class_="x-axis")]


def _legend(items: Sequence[tuple[str, str]], x: float, top: float) -> list[Markup]:
    """A column of colour swatches, each with its text."""
    rows = [row for i, (text, colour) in enumerate(items) for row in (
        _el("rect", class_="swatch", x=x, y=top + 20 * i, width=12, height=12, fill=colour),
        _el("text", text, x=x + 18, y=top + 20 * i + 10))]
    return [_el("g", rows, class_="legend")]


def _bar_rect(x: float, width: float, y: _Scale, value: float, colour: str, tooltip: str) -> Markup:
    """A bar from zero to the value (downwards when negative), its value as a hover tooltip."""
    top, base = y(max(value, 0.0)), y(min(value, 0.0))
    return _el("rect", [_el("title", tooltip)], class_="bar", x=x, y=top, width=width, height=base - top,
               fill=colour)


def _category_label(x: float, top: float, label: str, rotate: bool) -> Markup:
    if rotate:  # turned so that neighbours do not overlap, and shortened to stay inside the bottom margin
        return _el("text", _short(label, 12), x=x, y=top + 12, text_anchor="end",
                   transform=f"rotate(-40 {_num(x)} {_num(top + 12)})")
    return _el("text", label, x=x, y=top + 16, text_anchor="middle")


def _too_wide(labels: Sequence[str], band: float) -> bool:
    return 7 * max(map(len, labels)) > band  # about 7 px per character at font size 12


def _merge_small(slices: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Beyond MAX_SLICES, the smallest slices become one "other", so that every slice stays readable; the rest
    keep their order."""
    if len(slices) <= MAX_SLICES:
        return slices
    largest = sorted(range(len(slices)), key=lambda i: slices[i][1], reverse=True)[:MAX_SLICES - 1]
    kept = [slices[i] for i in sorted(largest)]
    return kept + [("other", sum(value for _, value in slices) - sum(value for _, value in kept))]


def _slice_path(cx: float, cy: float, radius: float, start: float, share: float) -> str:
    """A slice from `start` (a fraction of a turn, clockwise from 12 o'clock) covering `share` of the circle. A
    whole circle is two half arcs, since an arc that ends where it starts draws nothing."""
    r = _num(radius)
    if share >= 1 - 1e-9:
        top, bottom = f"{_num(cx)} {_num(cy - radius)}", f"{_num(cx)} {_num(cy + radius)}"
        return f"M {top} A {r} {r} 0 1 1 {bottom} A {r} {r} 0 1 1 {top} Z"
    (x0, y0), (x1, y1) = _on_circle(cx, cy, radius, start), _on_circle(cx, cy, radius, start + share)
    return (f"M {_num(cx)} {_num(cy)} L {_num(x0)} {_num(y0)} "
            f"A {r} {r} 0 {int(share > 0.5)} 1 {_num(x1)} {_num(y1)} Z")


def _on_circle(cx: float, cy: float, radius: float, turn: float) -> tuple[float, float]:
    angle = 2 * math.pi * turn  # clockwise from 12 o'clock, as the y axis points down
    return cx + radius * math.sin(angle), cy - radius * math.cos(angle)


def _arrow_stretch(scores: list[tuple[str, float, float]], loadings: list[tuple[str, float, float]]) -> float:
    """The factor that makes the longest loading reach 90 % of the farthest score: loadings and scores are on
    different scales, and unstretched arrows would be lost in the middle of the cloud or run past it."""
    longest = max((math.hypot(a, b) for _, a, b in loadings), default=0.0)
    farthest = max((math.hypot(a, b) for _, a, b in scores), default=0.0)
    return 0.9 * farthest / longest if longest and farthest else 1.0


def _arrow(x0: float, y0: float, x1: float, y1: float, label: str) -> Markup:
    """A line from the origin to the tip, a small triangle for its head and the variable's name past the tip."""
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length  # unit vector along the arrow
    head = [(x1, y1), (x1 - 8 * ux + 4 * uy, y1 - 8 * uy - 4 * ux), (x1 - 8 * ux - 4 * uy, y1 - 8 * uy + 4 * ux)]
    anchor = "start" if ux >= 0 else "end"  # the name reads away from the origin
    return _el("g", [_el("line", x1=x0, y1=y0, x2=x1, y2=y1, stroke=PALETTE[1], stroke_width=1.5),
                     _el("polygon", points=_coordinates(head), fill=PALETTE[1]),
                     _el("text", label, x=x1 + 8 * ux, y=y1 + 8 * uy + 4, text_anchor=anchor)],
               class_="loading")


def _el(tag: str, content: str | list[Markup] | None = None, **attributes: object) -> Markup:
    """One element. Attribute names are spelt the Python way (`text_anchor` for text-anchor, `class_` for class);
    attribute values and text are escaped, a list of child elements is kept as markup."""
    attrs = Markup("").join(Markup(' {}="{}"').format(Markup(name.rstrip("_").replace("_", "-")), _attribute(value))
                            for name, value in attributes.items())
    if content is None:
        return Markup(f"<{tag}") + attrs + Markup("/>")
    inner = Markup("").join(content) if isinstance(content, list) else escape(_xml_text(content))
    return Markup(f"<{tag}") + attrs + Markup(">") + inner + Markup(f"</{tag}>")


def _attribute(value: object) -> str:
    return _num(value) if isinstance(value, float) else _xml_text(str(value))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)  # control characters that XML forbids even escaped: the SVG stays well-formed


def _coordinates(xy: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_num(a)},{_num(b)}" for a, b in xy)


def _epoch(text: str) -> float:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _when(epoch: float) -> str:
    """A time as a page shows it (UTC): the day at midnight, the time of day otherwise."""
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.strftime("%b %d") if (moment.hour, moment.minute) == (0, 0) else moment.strftime("%H:%M")


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"chart value {text!r} is not a finite number")
    return value


def _num(value: float) -> str:
    """A coordinate, to a thousandth of a pixel and without trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _fmt(value: float) -> str:
    """A value for people: two decimals at most, or three significant digits below 1, without trailing zeros."""
    decimals = 2 if value == 0 or abs(value) >= 1 else min(6, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _listing(rows: Sequence[tuple[str, float, float]]) -> str:
    return ", ".join(f"{label} ({_fmt(a)}, {_fmt(b)})" for label, a, b in rows)


def _percent(share: float) -> str:
    return f"{100 * share:.1f} %"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))  # first-seen order, as the seed listed them
