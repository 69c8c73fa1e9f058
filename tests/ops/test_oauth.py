"""Installing requestbot in several workspaces through Slack's OAuth flow, end to end."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from models import Request
from models.installation import bots_table, installations_table
from tests.flows.helpers import opened_view, requests_in, submit
from tests.harness import CHANNEL, REP, TEAM_ID
from tests.slack.payloads import event_callback

OTHER_TEAM = "T0TEAM002"
TOKEN = "xoxb-17653672481-installed"
OTHER_TOKEN = "xoxb-99999999999-other"
OAUTH = {"SLACK_BOT_TOKEN": None, "SLACK_CLIENT_ID": "1234.5678",
         "SLACK_CLIENT_SECRET": "oauth-client-secret-0123", "SLACK_SCOPES": "commands,chat:write"}


@pytest.fixture
def settings_overrides():
    return dict(OAUTH)


def install(bot, code: str = "code-1") -> httpx.Response:
    """The admin's browser: the install page, Slack's consent (skipped), then the redirect."""
    page = httpx.get(f"{bot.url}/slack/install")
    assert page.status_code == 200, page.text
    state = page.cookies.get("slack-app-oauth-state")
    assert state and f"state={state}" in page.text
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.text)
    assert link and "client_id=1234.5678" in link.group(1)
    assert "scope=commands,chat:write" in link.group(1).replace("&amp;", "&")
    return httpx.get(f"{bot.url}/slack/oauth_redirect", params={"code": code, "state": state},
                     headers={"Cookie": f"slack-app-oauth-state={state}"})


def installed_teams(db) -> list[str]:
    with db.engine.connect() as connection:
        return sorted(connection.scalars(select(installations_table.c.team_id)))


def test_install_stores_the_workspace_and_its_token_answers_its_requests(bot, slack, db):
    done = install(bot)
    assert done.status_code == 200, done.text
    [exchange] = slack.calls_to("oauth.v2.access")
    assert exchange.args["code"] == "code-1"
    assert installed_teams(db) == [TEAM_ID]
    slack.reset()

    bot.command("", REP, CHANNEL)
    [opened] = slack.wait_for("views.open")
    assert opened.token == TOKEN  # Bolt's own client, with the installed workspace's token
    submit(bot, opened_view(slack), REP, {"title": "Bulk CSV export"})
    [card] = slack.wait_for("chat.postMessage")
    assert card.token == TOKEN  # the outbox sender, with the same workspace's token
    assert slack.calls_to("auth.test") == []  # the stored bot row says who the bot is


def test_each_workspace_is_answered_with_its_own_token(bot, slack, db):
    slack.workspace.oauth_grants["code-2"] = (OTHER_TEAM, OTHER_TOKEN)
    assert install(bot, "code-1").status_code == 200
    assert install(bot, "code-2").status_code == 200
    assert installed_teams(db) == [TEAM_ID, OTHER_TEAM]

    bot.command("", REP, CHANNEL, team_id=OTHER_TEAM)
    [opened] = slack.wait_for("views.open")
    assert opened.token == OTHER_TOKEN
    bot.submit_view(
        opened.response["view"]["callback_id"],
        {"title": {"title": {"type": "plain_text_input", "value": "SSO for Globex"}}},
        REP, private_metadata=opened.response["view"]["private_metadata"],
        view=opened.response["view"], team_id=OTHER_TEAM,
    )
    [card] = slack.wait_for("chat.postMessage")
    assert card.token == OTHER_TOKEN
    [request] = requests_in(db)
    assert request.team_id == OTHER_TEAM


def test_the_redirect_without_the_installer_state_installs_nothing(bot, slack, db):
    page = httpx.get(f"{bot.url}/slack/install")
    state = page.cookies.get("slack-app-oauth-state")
    forged = httpx.get(f"{bot.url}/slack/oauth_redirect",
                       params={"code": "code-1", "state": state})  # no cookie: another browser
    assert forged.status_code >= 400
    replayed = httpx.get(f"{bot.url}/slack/oauth_redirect",
                         params={"code": "code-1", "state": "made-up"},
                         headers={"Cookie": "slack-app-oauth-state=made-up"})
    assert replayed.status_code >= 400
    assert slack.calls_to("oauth.v2.access") == []
    assert installed_teams(db) == []


def test_an_uninstalled_workspace_is_no_longer_answered_and_its_data_is_kept(bot, slack, db):
    assert install(bot).status_code == 200
    bot.command("", REP, CHANNEL)
    submit(bot, opened_view(slack), REP, {"title": "Bulk CSV export"})
    slack.wait_for("chat.postMessage")
    bot.wait_idle()
    response = bot.event({"type": "app_uninstalled"})
    assert response.status_code == 200
    bot.wait_idle()
    assert installed_teams(db) == []
    with db.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(bots_table)) == 0
    assert [r.title for r in requests_in(db)] == ["Bulk CSV export"]  # keep is the default

    slack.reset()
    bot.event({"type": "app_mention", "user": REP, "text": "hi", "channel": CHANNEL,
               "ts": "1700000000.000900", "event_ts": "1700000000.000900"})
    bot.wait_idle()
    assert bot.run(bot.deps.installations.bot_token(TEAM_ID)) is None
    assert [c for c in slack.calls if c.token == TOKEN] == []


@pytest.mark.parametrize("settings_overrides", [{**OAUTH, "REQUESTBOT_ON_UNINSTALL": "delete"}])
def test_uninstall_deletes_only_that_workspaces_data_when_configured(bot, slack, db):
    slack.workspace.oauth_grants["code-2"] = (OTHER_TEAM, OTHER_TOKEN)
    install(bot, "code-1")
    install(bot, "code-2")
    for team in (TEAM_ID, OTHER_TEAM):
        bot.command("", REP, CHANNEL, team_id=team)
    first, second = slack.wait_for("views.open", count=2)
    for call in (first, second):
        view = call.response["view"]
        team = TEAM_ID if call.token == TOKEN else OTHER_TEAM
        bot.submit_view(view["callback_id"],
                        {"title": {"title": {"type": "plain_text_input", "value": f"Ask {team}"}}},
                        REP, private_metadata=view["private_metadata"], view=view, team_id=team)
    slack.wait_for("chat.postMessage", count=2)
    bot.wait_idle()

    bot.post(*event_callback({"type": "app_uninstalled"}, team_id=OTHER_TEAM))
    bot.wait_idle()
    assert installed_teams(db) == [TEAM_ID]
    with db.sessions() as session:
        assert session.scalars(select(Request.title)).all() == [f"Ask {TEAM_ID}"]
        assert session.scalar(select(func.count()).select_from(Request)
                              .where(Request.team_id == OTHER_TEAM)) == 0


def test_install_routes_are_not_served_without_oauth(slack, db, clock):
    from tests.harness import BotHarness, make_settings

    harness = BotHarness(make_settings(slack.base_url, db.url), db, slack, clock)
    harness.start()
    try:
        assert httpx.get(f"{harness.url}/slack/install").status_code == 404
    finally:
        harness.stop()
