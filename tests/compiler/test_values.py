"""Durations, quantities and cron schedules."""

import pytest

from treadle.compiler.values import check_cron, parse_duration, parse_quantity


@pytest.mark.parametrize("text,seconds", [("90s", 90), ("10m", 600), ("1h30m", 5400), ("1.5h", 5400),
                                          ("2h", 7200), ("500ms", 1), ("1h0m5s", 3605)])
def test_durations(text, seconds):
    assert parse_duration(text) == (seconds, None)


@pytest.mark.parametrize("text", ["", "45", "45 minutes", "m", "1d", "-5m", "0s", "1h 30m", "h1"])
def test_bad_durations(text):
    value, problem = parse_duration(text)
    assert value is None and problem


@pytest.mark.parametrize("value", ["500m", "4Gi", "2", 2, "1.5", "128974848", "129e6", "123Mi", "0.1"])
def test_quantities(value):
    assert parse_quantity(value)[1] is None


@pytest.mark.parametrize("value", ["4 GB", "2 cores", "-1", "Gi", True, [1], "1.2.3"])
def test_bad_quantities(value):
    assert parse_quantity(value)[0] is None


@pytest.mark.parametrize("text", ["0 3 * * *", "*/15 * * * *", "0 0 1,15 * MON-FRI", "5 4 * jan sun", "@daily",
                                  "@every 1h30m", "0 22 * * 1-5", "0 0 * * 7"])
def test_cron(text):
    assert check_cron(text) is None


@pytest.mark.parametrize("text", ["0 25 * * *", "* * * *", "60 * * * *", "0 0 32 * *", "0 0 * 13 *",
                                  "*/0 * * * *", "0 0 * * funday", "@sometimes", "a b c d e"])
def test_bad_cron(text):
    assert check_cron(text)
