"""The server-drawn charts: right counts, proportional bars, escaped labels, a text alternative."""

import re

import pytest
from tandem_console.charts import Bar, bar_chart, histogram, score_bar
from tandem_console.forms import FormError, parse_ids, parse_levelled

pytestmark = pytest.mark.unit


def _rects(svg: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m)) for m in re.findall(r'<rect class="bar"([^>]*)>', svg)
    ]


def test_histogram_puts_each_score_in_its_bin_and_the_top_score_in_the_last():
    bars = histogram([0.0, 0.05, 0.12, 0.5, 0.99, 1.0], bins=10)
    assert [bar.value for bar in bars] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert bars[0].label == "0.0-0.1" and bars[-1].label == "0.9-1.0"


def test_bar_chart_draws_one_labelled_bar_per_value_with_heights_in_proportion():
    chart = bar_chart("c", "Mentor load", [Bar("0", 2), Bar("1", 4), Bar("2", 1)], value_label="mentors")
    rects = _rects(str(chart.svg))
    assert [(r["data-label"], r["data-value"]) for r in rects] == [("0", "2"), ("1", "4"), ("2", "1")]
    heights = [float(r["height"]) for r in rects]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.02)
    assert heights[1] == pytest.approx(4 * heights[2], rel=0.02)
    assert 'role="img"' in chart.svg and '<title id="c-title">Mentor load</title>' in chart.svg
    assert "0: 2, 1: 4, 2: 1" in chart.svg  # the <desc> says it in words
    assert not chart.empty


def test_bar_chart_escapes_labels_so_data_cannot_inject_markup():
    chart = bar_chart("c", "<b>t</b>", [Bar('<script>alert("x")</script>', 1)])
    assert "<script>" not in chart.svg and "&lt;script&gt;" in chart.svg
    assert "<b>" not in chart.svg


def test_a_chart_of_zeros_is_empty_and_draws_flat_bars():
    chart = bar_chart("c", "t", [Bar("a", 0), Bar("b", 0)])
    assert chart.empty
    assert [float(r["height"]) for r in _rects(str(chart.svg))] == [0.0, 0.0]


def test_score_bar_fills_in_proportion_and_clamps_out_of_range_scores():
    def filled(svg: str) -> float:
        return float(re.search(r'class="fill" width="([\d.]+)"', svg).group(1))

    assert filled(score_bar(0.25, width=200)) == 50.0
    assert filled(score_bar(1.7, width=200)) == 200.0
    assert filled(score_bar(-1, width=200)) == 0.0


def test_levelled_text_becomes_skills_with_default_level_three():
    assert parse_levelled("Python: 4, kafka\n\n SQL:5", what="Skills") == [
        {"name": "Python", "level": 4},
        {"name": "kafka", "level": 3},
        {"name": "SQL", "level": 5},
    ]
    with pytest.raises(FormError, match="level of 'Go' must be"):
        parse_levelled("Go: 9", what="Skills")
    assert parse_ids(" e-1, e-2\ne-3;e-4 ") == ["e-1", "e-2", "e-3", "e-4"]
