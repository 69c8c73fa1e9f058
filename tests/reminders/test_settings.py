"""The reminder settings: defaults, and one clear line for a malformed value."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, Settings, load_settings


def test_reminder_settings_have_documented_defaults():
    settings = Settings(_env_file=None)
    assert (settings.stale_days, settings.follow_up_hours, settings.deal_close_days) == (14, 48, 7)
    assert settings.digest_channel is None and settings.quiet_weekends is True
    assert settings.new_evidence_revenue_growth == 0.5
    assert (settings.digest_day, settings.digest_hour) == ("mon", 9)


@pytest.mark.parametrize(("variable", "value"), [
    ("REQUESTBOT_DIGEST_CHANNEL", "#general"),
    ("REQUESTBOT_DIGEST_DAY", "someday"),
    ("REQUESTBOT_DIGEST_HOUR", "25"),
    ("REQUESTBOT_STALE_DAYS", "0"),
])
def test_a_malformed_reminder_setting_names_its_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings(_env_file=None, **{variable: value})
