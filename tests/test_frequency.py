import pytest

from rnnforecast.frequency import cadence


@pytest.mark.parametrize(
    ("frequency", "season"),
    [
        ("MS", 12),
        ("ME", 12),
        ("QS-JAN", 4),
        ("W-SUN", 52),
        ("D", 7),
        ("B", 5),
        ("h", 24),
        ("30min", 48),
        ("YS", 1),
        (None, 1),
    ],
)
def test_season_length_of_each_frequency(frequency, season):
    assert cadence(frequency).season_length == season


@pytest.mark.parametrize("frequency", ["MS", "QS", "W", "D", "B", "h", "30min", "YS", None])
def test_a_frequency_has_calendar_features_when_it_has_a_season(frequency):
    kind = cadence(frequency)
    assert bool(kind.calendar) == (kind.season_length > 1)
