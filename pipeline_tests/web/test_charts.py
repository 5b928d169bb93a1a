"""The survey's server-side SVG charts on small hand-built results: every chart parses as XML, and its shapes
match values computed by hand (bar heights, slice angles, point order, arrows); data texts are escaped and each
chart is labelled for screen readers."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from pipeline.survey.results import QuestionResult
from pipeline.web.charts import ChartPoint, render_chart

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"
SCRIPT = "<script>alert(1)</script>"


def result(plot_type: str, points: list[tuple[str, ...]], question: int = 1, title: str = "Chart") -> QuestionResult:
    return QuestionResult(question=question, title=title, plot_type=plot_type, method="test", sample_size=10,
                          summary="", points=tuple(ChartPoint(*point) for point in points))


def draw(plot_type: str, points: list[tuple[str, ...]], **kwargs) -> ET.Element:
    """The chart parsed as XML (fails unless well-formed)."""
    markup = render_chart(result(plot_type, points, **kwargs).chart)
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def find(svg: ET.Element, tag: str, class_: str | None = None) -> list[ET.Element]:
    return [e for e in svg.iter(SVG + tag) if class_ is None or e.get("class") == class_]


def texts(svg: ET.Element) -> list[str]:
    return [e.text for e in svg.iter(SVG + "text")]


def tooltip(element: ET.Element) -> str:
    return element.find(SVG + "title").text


def test_bar_heights_are_proportional_to_the_values():
    svg = draw("bar", [("A", "10"), ("B", "20"), ("C", "5")])
    bars = find(svg, "rect", "bar")
    assert len(bars) == 3
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] / heights[0] == pytest.approx(2, abs=1e-6)
    assert heights[2] / heights[0] == pytest.approx(0.5, abs=1e-6)
    assert len({float(bar.get("y")) + float(bar.get("height")) for bar in bars}) == 1  # one baseline
    assert {"A", "B", "C", "10", "20", "5"} <= set(texts(svg))
    assert svg.find(SVG + "desc").text == "A: 10, B: 20, C: 5"


def test_bar_axis_ends_at_a_nice_maximum():
    svg = draw("bar", [("A", "7"), ("B", "13")])
    ticks = [e.text for e in find(svg, "g", "y-axis")[0].iter(SVG + "text")]
    assert ticks == ["0", "5", "10", "15"]  # 13 / 5 ticks = 2.6: the step is the first of 1, 2, 2.5, 5 above it
    tallest = max(float(bar.get("height")) for bar in find(svg, "rect", "bar"))
    assert tallest == pytest.approx(264 * 13 / 15, abs=1e-3)  # the plot is 360 - 24 - 72 px high


def test_many_bar_labels_are_rotated_and_shortened():
    svg = draw("bar", [(f"campus number {i}", str(i)) for i in range(12)])
    labels = [e for e in svg.iter(SVG + "text") if e.get("transform", "").startswith("rotate(-40")]
    assert [e.text for e in labels] == ["campus numb…"] * 12


def test_grouped_bars_have_one_colour_per_group():
    points = [("A", "4", "X"), ("A", "2", "Y"), ("B", "3", "X"), ("B", "6", "Y"), ("C", "1", "X")]
    svg = draw("grouped_bar", points)
    bars = find(svg, "rect", "bar")
    assert [tooltip(bar) for bar in bars] == ["A, X: 4", "A, Y: 2", "B, X: 3", "B, Y: 6", "C, X: 1"]
    colours = [bar.get("fill") for bar in bars]
    assert colours[0] == colours[2] == colours[4] != colours[1] == colours[3]
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[3] / heights[1] == pytest.approx(3, abs=1e-6)
    swatches = find(svg, "rect", "swatch")
    legend = [e.text for e in find(svg, "g", "legend")[0].iter(SVG + "text")]
    assert legend == ["X", "Y"] and [s.get("fill") for s in swatches] == [colours[0], colours[1]]
    assert {"A", "B", "C"} <= set(texts(svg))
    assert svg.find(SVG + "desc").text == "A: X 4, Y 2; B: X 3, Y 6; C: X 1"


def slice_turns(path: ET.Element) -> tuple[float, float]:
    """The (start, sweep) of a slice path "M cx cy L x0 y0 A r r 0 large 1 x1 y1 Z", in fractions of a turn
    clockwise from 12 o'clock."""
    cx, cy, x0, y0, _, _, _, _, _, x1, y1 = map(float, re.findall(r"-?[\d.]+", path.get("d")))

    def turn(x: float, y: float) -> float:
        return math.atan2(x - cx, cy - y) / (2 * math.pi) % 1

    start = turn(x0, y0)
    return start, (turn(x1, y1) - start) % 1


def test_pie_slice_angles_match_the_shares():
    svg = draw("pie", [("car", "30"), ("bike", "10"), ("foot", "60")])
    slices = find(svg, "path", "slice")
    assert len(slices) == 3
    turns = [slice_turns(s) for s in slices]
    assert [sweep for _, sweep in turns] == pytest.approx([0.3, 0.1, 0.6], abs=1e-5)
    assert [start for start, _ in turns] == pytest.approx([0, 0.3, 0.4], abs=1e-5)
    assert " 0 1 1 " in slices[2].get("d")  # more than half a turn: the large-arc flag
    assert ["car: 30.0 %", "bike: 10.0 %", "foot: 60.0 %"] == texts(svg)
    assert svg.find(SVG + "desc").text == "car: 30 (30.0 %), bike: 10 (10.0 %), foot: 60 (60.0 %)"


def test_a_whole_pie_is_drawn_as_a_full_circle():
    svg = draw("pie", [("car", "7"), ("bike", "0")])
    whole = find(svg, "path", "slice")[0].get("d")
    assert whole.count("A ") == 2  # two half arcs: an arc back to its own start would draw nothing
    assert texts(svg) == ["car: 100.0 %", "bike: 0.0 %"]


def test_a_pie_of_many_slices_merges_the_smallest_into_other():
    points = [(f"c{i}", str(i)) for i in range(1, 11)]  # 1..10, total 55
    svg = draw("pie", points)
    assert len(find(svg, "path", "slice")) == 8
    assert texts(svg)[-1] == "other: 10.9 %"  # 1 + 2 + 3 = 6 of 55
    assert svg.find(SVG + "desc").text.endswith("other: 6 (10.9 %); other merges the 3 smallest categories")


def test_scatter_draws_observed_points_and_the_fitted_line_in_x_order():
    points = [("1", "2", "observed"), ("2", "3.5", "observed"), ("3", "3", "observed"),
              ("3", "4", "fitted"), ("1", "2", "fitted"), ("2", "3", "fitted")]
    svg = draw("scatter", points)
    circles = find(svg, "circle", "observed")
    assert len(circles) == 3
    [line] = find(svg, "polyline", "fitted")
    xy = [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]
    assert len(xy) == 3 and xy[0][0] < xy[1][0] < xy[2][0]
    # the fitted (1, 2) and (3, 4) fall on the observed (1, 2) and on the x of the observed (3, 3)
    assert xy[0] == (float(circles[0].get("cx")), float(circles[0].get("cy")))
    assert xy[2][0] == float(circles[2].get("cx"))
    assert {"1", "2", "3", "2.5", "3.5", "4"} <= set(texts(svg))  # tick values on both axes


def test_biplot_draws_scores_and_loading_arrows_scaled_to_the_scores():
    points = [("2", "0", "score", "A"), ("-2", "0", "score", "B"), ("0", "1", "score", "C"),
              ("0.5", "0", "loading", "distance"), ("0", "0.25", "loading", "contracts")]
    svg = draw("biplot", points)
    assert len(find(svg, "circle", "score")) == 3
    arrows = find(svg, "g", "loading")
    assert len(arrows) == 2
    lines = [arrow.find(SVG + "line") for arrow in arrows]
    origin = {(line.get("x1"), line.get("y1")) for line in lines}
    assert len(origin) == 1
    ox, oy = map(float, origin.pop())
    a = find(svg, "circle", "score")[0]
    c = find(svg, "circle", "score")[2]
    # stretch = 0.9 × farthest score (2) / longest loading (0.5) = 3.6: tips at (1.8, 0) and (0, 0.9)
    assert (float(lines[0].get("x2")) - ox) / (float(a.get("cx")) - ox) == pytest.approx(0.9, abs=1e-4)
    assert (float(lines[1].get("y2")) - oy) / (float(c.get("cy")) - oy) == pytest.approx(0.9, abs=1e-4)
    assert all(arrow.find(SVG + "polygon") is not None for arrow in arrows)  # heads
    assert {"A", "B", "C", "distance", "contracts", "PC1", "PC2"} <= set(texts(svg))


def test_a_timeline_puts_each_series_on_one_time_axis_with_its_own_marker():
    svg = draw("timeline", [("2026-11-29T00:00:00+00:00", "30", "batch"), ("2026-11-30T00:00:00+00:00", "20", "batch"),
                            ("2026-11-30T12:00:00+00:00", "10", "speed"), ("2026-11-30T12:01:00+00:00", "5", "speed")])
    squares, dots = find(svg, "rect", "marker"), find(svg, "circle", "marker")
    assert (len(squares), len(dots)) == (2, 2)  # one shape per series, so they stay apart without colour
    xs = [float(e.get("x")) + 4 for e in squares] + [float(e.get("cx")) for e in dots]
    # x is linear in time: a day between the two batch points, 12 hours to the first speed point.
    assert (xs[2] - xs[1]) / (xs[1] - xs[0]) == pytest.approx(0.5, abs=1e-3)
    assert xs[3] > xs[2]
    ys = [float(e.get("y")) + 4 for e in squares] + [float(e.get("cy")) for e in dots]
    assert ys[0] < ys[1] < ys[2] < ys[3]  # 30, 20, 10, 5 from the top down
    assert len(find(svg, "polyline", "series")) == 2
    assert {"batch", "speed", "Nov 29", "Nov 30"} <= set(texts(svg))
    assert svg.find(SVG + "desc").text == "batch: Nov 29 30, Nov 30 20; speed: 12:00 10, 12:01 5"


def test_a_line_chart_fits_its_y_axis_to_close_scores():
    svg = draw("line", [("0.05", "0.93", "rank 8"), ("0.1", "0.91", "rank 8"), ("0.2", "0.92", "rank 8"),
                        ("0.1", "0.915", "rank 12")])
    squares, dots = find(svg, "rect", "marker"), find(svg, "circle", "marker")
    assert (len(squares), len(dots)) == (3, 1)
    xs = [float(e.get("x")) + 4 for e in squares]
    assert (xs[2] - xs[1]) / (xs[1] - xs[0]) == pytest.approx(2.0, abs=1e-3)  # 0.05 → 0.1 → 0.2, linear in x
    ys = {float(e.get("y")) + 4 for e in squares}
    # 0.91 to 0.93 spans most of the plot's height (240 px), not the 2% of it an axis from zero would give.
    assert max(ys) - min(ys) > 100
    assert svg.find(SVG + "desc").text == "rank 8: 0.05 0.93, 0.1 0.91, 0.2 0.92; rank 12: 0.1 0.915"


def test_a_standalone_chart_has_its_size_in_pixels():
    markup = render_chart(result("bar", [("a", "1")]).chart, standalone=True)
    svg = ET.fromstring(str(markup))
    assert (svg.get("width"), svg.get("height")) == ("640", "360")
    assert ET.fromstring(str(render_chart(result("bar", [("a", "1")]).chart))).get("width") == "100%"


@pytest.mark.parametrize("plot_type, point", [
    ("bar", (SCRIPT, "1")),
    ("timeline", ("2026-11-30T12:00:00+00:00", "1", SCRIPT)),
    ("line", ("1", "1", SCRIPT)),
    ("grouped_bar", (SCRIPT, "1", SCRIPT)),
    ("pie", (SCRIPT, "1")),
    ("biplot", ("1", "1", "score", SCRIPT)),
    ("biplot", ("1", "1", "loading", SCRIPT)),
])
def test_texts_from_the_data_are_escaped(plot_type: str, point: tuple[str, ...]):
    markup = str(render_chart(result(plot_type, [point], title=SCRIPT).chart))
    assert "<script" not in markup and "&lt;script&gt;" in markup
    svg = ET.fromstring(markup)
    assert not [e for e in svg.iter() if e.tag.endswith("script")]
    assert svg.find(SVG + "title").text == SCRIPT
    assert SCRIPT in svg.find(SVG + "desc").text
    assert any(text.startswith("<script>") for text in texts(svg))  # shown, as text (a legend may shorten it)


def test_no_points_say_no_data_yet():
    svg = draw("scatter", [])
    assert texts(svg) == ["No data yet"]
    assert svg.find(SVG + "desc").text == "No data yet"


def test_charts_are_labelled_for_screen_readers_with_unique_ids():
    first = draw("bar", [("A", "120"), ("B", "80")], question=1, title="Students per country")
    second = draw("pie", [("A", "120"), ("B", "80")], question=2, title="Mobility")
    for svg, title in ((first, "Students per country"), (second, "Mobility")):
        assert svg.get("role") == "img" and svg.get("width") == "100%" and svg.get("viewBox") == "0 0 640 360"
        by_id = {e.get("id"): e for e in svg.iter() if e.get("id")}
        title_element, desc_element = (by_id[id_] for id_ in svg.get("aria-labelledby").split())
        assert (title_element.tag, title_element.text) == (SVG + "title", title)
        assert desc_element.tag == SVG + "desc"
    assert first.find(SVG + "desc").text == "A: 120, B: 80"
    ids = [{e.get("id") for e in svg.iter() if e.get("id")} for svg in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
