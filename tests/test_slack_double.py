"""The Slack Web API double, driven by slack_sdk's real clients, and the request signer,
checked by slack_sdk's own verifier."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.double import SlackDouble
from tests.slack.signing import retry_headers, sign

TOKEN = "xoxb-1234-5678-double-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def double() -> Iterator[SlackDouble]:
    with SlackDouble() as running:
        yield running


@pytest.fixture
def client(double: SlackDouble) -> WebClient:
    return WebClient(token=TOKEN, base_url=double.base_url)


def section(text: str = "A request", block_id: str | None = None) -> dict:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def modal(**fields) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": "New request"},
            "blocks": [section()], **fields}


def test_base_url_is_a_local_api_root(double: SlackDouble) -> None:
    assert double.base_url == f"http://127.0.0.1:{double.port}/api/"


def test_post_message_with_blocks_and_text_is_answered_like_slack(
    double: SlackDouble, client: WebClient
) -> None:
    blocks = [SectionBlock(text="*Bulk CSV export*", block_id="card"),
              ActionsBlock(elements=[ButtonElement(text="Decide", action_id="decide", value="7")])]
    first = client.chat_postMessage(channel="C0SALES01", text="Bulk CSV export", blocks=blocks)
    second = client.chat_postMessage(channel="C0SALES01", text="reply", thread_ts=first["ts"])

    assert first["ok"] and first["channel"] == "C0SALES01"
    assert first["ts"] == "1700000000.000100" and float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "Bulk CSV export"
    [call, _] = double.wait_for("chat.postMessage", count=2)
    assert call.token == TOKEN and call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.args["blocks"][1]["elements"][0]["action_id"] == "decide"
    assert double.calls_to("chat.postMessage")[1].args["thread_ts"] == first["ts"]
    assert double.violations == []


def test_form_encoded_json_arguments_are_decoded(double: SlackDouble, client: WebClient) -> None:
    client.api_call("chat.postMessage", data={
        "channel": "C1", "text": "hi", "blocks": json.dumps([section()]),
    })
    [call] = double.calls_to("chat.postMessage")
    assert call.args["blocks"] == [section()]
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert double.violations == []


def test_async_client_calls_are_recorded_with_their_arguments(double: SlackDouble) -> None:
    async def run() -> None:
        client = AsyncWebClient(token=TOKEN, base_url=double.base_url)
        opened = await client.views_open(trigger_id="123.456.abc", view=modal(callback_id="m"))
        view = opened["view"]
        assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "m"
        updated = await client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
        assert updated["view"]["id"] == view["id"] and updated["view"]["hash"] != view["hash"]
        stale = client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
        with pytest.raises(SlackApiError) as error:
            await stale
        assert error.value.response["error"] == "hash_conflict"
        replies = await client.conversations_replies(channel="C1", ts="1699999999.000100")
        assert [m["text"] for m in replies["messages"]] == ["Need CSV export", "+1 from Acme"]

    double.set_message("C1", "1699999999.000100", "Need CSV export", "U0REP0001")
    double.set_message("C1", "1699999999.000200", "+1 from Acme", "U0REP0002",
                       thread_ts="1699999999.000100")
    asyncio.run(run())
    assert [c.method for c in double.calls] == [
        "views.open", "views.update", "views.update", "conversations.replies"]
    assert double.calls[0].args["trigger_id"] == "123.456.abc"
    assert double.violations == []


def test_workspace_answers(double: SlackDouble, client: WebClient) -> None:
    double.set_user("U0PM00001", tz="Europe/Berlin", name="pat")
    double.set_usergroup("S0PMS0001", ["U0PM00001", "U0PM00002"])
    posted = client.chat_postMessage(channel="C1", text="reply", thread_ts="1699999999.000100")

    assert client.users_info(user="U0PM00001")["user"]["tz"] == "Europe/Berlin"
    assert client.users_info(user="U0REP0001")["user"]["tz"] == "America/New_York"
    assert client.usergroups_users_list(usergroup="S0PMS0001")["users"] == [
        "U0PM00001", "U0PM00002"]
    dm = client.conversations_open(users="U0PM00001")["channel"]["id"]
    assert dm.startswith("D") and dm == client.conversations_open(users="U0PM00001")["channel"]["id"]
    assert dm != client.conversations_open(users="U0REP0001")["channel"]["id"]
    assert client.chat_getPermalink(channel="C1", message_ts=posted["ts"])["permalink"] == (
        "https://example.slack.com/archives/C1/p1700000000000100"
        "?thread_ts=1699999999.000100&cid=C1")
    assert client.chat_getPermalink(channel="C1", message_ts="1.000200")["permalink"] == (
        "https://example.slack.com/archives/C1/p1000200")
    assert client.chat_postEphemeral(channel="C1", user="U1", text="no")["message_ts"]
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="edited")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", posted["ts"], "edited")
    assert double.message("C1", posted["ts"])["text"] == "edited"
    auth = client.auth_test()
    assert (auth["team_id"], auth["user_id"]) == (double.team_id, double.bot_user_id)
    assert client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")["ok"]
    assert client.conversations_info(channel="C1")["channel"]["id"] == "C1"
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]["id"]
    assert double.violations == []


def test_posting_to_a_user_lands_in_their_direct_message(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0PM00001", text="Revisit #7")
    assert posted["channel"] == client.conversations_open(users="U0PM00001")["channel"]["id"]


def test_slack_errors_for_missing_things(double: SlackDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as update:
        client.chat_update(channel="C1", ts="1.000001", text="x")
    with pytest.raises(SlackApiError) as group:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert update.value.response["error"] == "message_not_found"
    assert group.value.response["error"] == "no_such_subteam"
    assert double.violations == []


def test_51_blocks_in_a_message_is_a_violation(double: SlackDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1", text="many", blocks=[section()] * 51)
    assert error.value.response["error"] == "invalid_blocks"
    assert double.violations == [
        "chat.postMessage: blocks: 51 blocks, a message takes at most 50"]


def test_blocks_without_text_is_a_violation(double: SlackDouble, client: WebClient) -> None:
    with pytest.warns(UserWarning):  # slack_sdk warns too
        assert client.chat_postMessage(channel="C1", blocks=[section()])["ok"]
    [violation] = double.violations
    assert violation.startswith("chat.postMessage: blocks without a top-level text")


def test_missing_required_argument_is_rejected(double: SlackDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id="1.2.3", view=None)
    with pytest.raises(SlackApiError):
        client.api_call("chat.update", json={"channel": "C1", "text": "no ts"})
    assert double.violations == [
        "views.open: missing required argument(s) ['view']",
        "chat.update: missing required argument(s) ['ts']",
    ]


def test_views_update_needs_a_view_id_or_external_id(double: SlackDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError):
        client.api_call("views.update", json={"view": modal()})
    assert double.violations == ["views.update: views.update needs view_id or external_id"]


def test_invalid_modal_is_a_violation(double: SlackDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id="1.2.3", view=modal(
            title={"type": "plain_text", "text": "A title far longer than 24"}))
    assert double.violations == [
        "views.open: view.title.text: 26 characters, Slack allows at most 24"]


def test_token_must_be_a_bot_or_user_token(double: SlackDouble) -> None:
    with pytest.raises(SlackApiError) as error:
        WebClient(token="xapp-1-A1-1-abc", base_url=double.base_url).auth_test()
    with pytest.raises(SlackApiError):
        WebClient(base_url=double.base_url).auth_test()
    assert error.value.response["error"] == "invalid_auth"
    assert double.violations == ["auth.test: token must start with xoxb- or xoxp-",
                                 "auth.test: no token (expected Authorization: Bearer …)"]


def test_unknown_method_and_unknown_argument(double: SlackDouble, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.api_call("chat.postMesage", json={"channel": "C1", "text": "typo"})
    assert client.chat_postMessage(channel="C1", text="hi", thread="1.2")["ok"]
    assert error.value.response["error"] == "unknown_method"
    assert double.violations[0] == "chat.postMesage: unknown method (not in Slack's Web API)"
    assert double.violations[1].startswith("chat.postMessage: argument(s) ['thread'] unknown")


def test_failure_injection(double: SlackDouble, client: WebClient) -> None:
    double.fail("chat.postMessage", error="not_in_channel", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as error:
            client.chat_postMessage(channel="C1", text="hi")
        assert error.value.response["error"] == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.response["ok"] for c in double.calls] == [False, False, True]
    assert double.violations == []


def test_server_error_is_retried_by_slack_sdk(double: SlackDouble) -> None:
    double.server_error("chat.postMessage", status=503)
    client = WebClient(token=TOKEN, base_url=double.base_url,
                       retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)])
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.status for c in double.calls] == [503, 200]


def test_rate_limit_answers_429_with_retry_after(double: SlackDouble, client: WebClient) -> None:
    double.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1", text="hi")
    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"


def test_rate_limited_call_is_retried_by_slack_sdk(double: SlackDouble) -> None:
    double.rate_limit("chat.postMessage", retry_after=1)
    client = WebClient(token=TOKEN, base_url=double.base_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert time.monotonic() - started >= 1
    first, second = double.calls_to("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert double.violations == []


def test_rate_limited_call_is_retried_by_the_async_client(double: SlackDouble) -> None:
    double.rate_limit("views.publish", retry_after=1)

    async def publish() -> dict:
        client = AsyncWebClient(token=TOKEN, base_url=double.base_url,
                                retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
        response = await client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
        return response.data

    assert asyncio.run(publish())["ok"]
    assert [c.status for c in double.calls] == [429, 200]


def test_delay_slows_every_answer(double: SlackDouble, client: WebClient) -> None:
    double.delay(0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3


def test_wait_for_blocks_until_the_call_arrives(double: SlackDouble, client: WebClient) -> None:
    timer = threading.Timer(0.2, client.chat_postMessage, kwargs={"channel": "C1", "text": "late"})
    timer.start()
    [call] = double.wait_for("chat.postMessage", timeout=5,
                             predicate=lambda c: c.args["text"] == "late")
    timer.join()
    assert call.args["channel"] == "C1"


def test_wait_for_times_out_naming_the_calls_seen(double: SlackDouble, client: WebClient) -> None:
    client.auth_test()
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"got 0; calls seen: \['auth.test\(\) -> 200'\]"):
        double.wait_for("chat.postMessage", timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2


def test_reset_forgets_calls_violations_and_failures(double: SlackDouble, client: WebClient) -> None:
    double.fail("auth.test")
    with pytest.raises(SlackApiError):
        client.api_call("nope.nope")
    double.reset()
    assert client.auth_test()["ok"]
    assert [c.method for c in double.calls] == ["auth.test"] and double.violations == []


def test_stop_closes_the_port() -> None:
    double = SlackDouble().start()
    url = double.base_url
    double.stop()
    with pytest.raises(Exception):  # noqa: B017 - any connection error will do
        WebClient(token=TOKEN, base_url=url, timeout=2).auth_test()


def test_signature_is_accepted_by_slack_sdk_verifier() -> None:
    body = "token=x&team_id=T1&command=%2Frequest&text=Bulk+export"
    headers = sign(body, SECRET)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert SignatureVerifier(SECRET).is_valid_request(body.encode(), sign(body.encode(), SECRET))


def test_signature_with_the_wrong_secret_is_refused() -> None:
    body = '{"type":"event_callback"}'
    assert not SignatureVerifier("another-secret").is_valid_request(body, sign(body, SECRET))


def test_stale_signature_is_refused() -> None:
    body = '{"type":"event_callback"}'
    stale = sign(body, SECRET, timestamp=int(time.time()) - 6 * 60)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(body, stale["X-Slack-Request-Timestamp"],
                             stale["X-Slack-Signature"]) is False
    assert not verifier.is_valid_request(body, stale)


def test_signature_matches_slacks_documented_example() -> None:
    """The worked example on api.slack.com/authentication/verifying-requests-from-slack."""
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
            "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
            "-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39"
            "7700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a"
            "14d10d2c447fce8b6703c")
    headers = sign(body, "8f742231b10e8888abcd99yyyzzz85a5", timestamp=1531420618)
    assert headers["X-Slack-Signature"] == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


def test_retry_headers() -> None:
    assert retry_headers(2) == {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
