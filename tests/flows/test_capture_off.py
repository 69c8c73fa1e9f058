from tests.flows.helpers import requests_in
from tests.harness import CHANNEL, OTHER_REP, REP
from tests.slack.payloads import reaction_added_event


def test_reactions_file_nothing_when_no_capture_emoji_is_configured(bot, slack, db):
    slack.set_message(CHANNEL, "1700000400.000100", "we need webhooks", OTHER_REP)
    response = bot.event(reaction_added_event(REP, "bulb", CHANNEL, "1700000400.000100", OTHER_REP))
    assert response.status_code == 200
    bot.wait_idle()
    assert requests_in(db) == []
    assert slack.calls == []
