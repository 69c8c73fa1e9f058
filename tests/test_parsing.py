from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.money import Money
from bot.parsing import (
    ParsedDecision,
    ParsedReply,
    ParsedRequest,
    facts,
    parse_count,
    parse_decision_text,
    parse_request_text,
    parse_thread_reply,
    parse_timeline,
)

TODAY = date(2026, 11, 10)


def usd(major: int) -> Money:
    return Money(major * 100, "USD")


# text, then the fields expected; fields not listed must stay empty.
REQUESTS = [
    ("Bulk CSV export for Acme, 3 customers, $120k ARR, blocker",
     dict(title="Bulk CSV export", customers=["Acme"], customer_count=3, revenue=usd(120_000),
          revenue_period="arr", blocker="deal_blocker")),
    ("SSO for Acme and Globex, 50k MRR, not a blocker",
     dict(title="SSO", customers=["Acme", "Globex"], revenue=usd(600_000), revenue_period="arr",
          converted_from_mrr=True, blocker="none")),
    ("Acme asked for bulk CSV export",
     dict(title="Bulk CSV export", customers=["Acme"])),
    ("Audit log export, three accounts, €50,000, blocking the renewal",
     dict(title="Audit log export", customer_count=3, revenue=Money(5_000_000, "EUR"),
          blocker="churn_risk")),
    ("Custom fields, 1.2M, deal breaker",
     dict(title="Custom fields", revenue=usd(1_200_000), blocker="deal_blocker")),
    ("Gantt view - two clients - must have",
     dict(title="Gantt view", customer_count=2, importance="must_have")),
    ("Dark mode, nice to have", dict(title="Dark mode", importance="nice_to_have")),
    ("Dark mode (nice-to-have)", dict(title="Dark mode", importance="nice_to_have")),
    ("Slack alerts for Initech, 120K ARR",
     dict(title="Slack alerts", customers=["Initech"], revenue=usd(120_000),
          revenue_period="arr")),
    ("Webhooks for Acme, Globex and Initech, no blocker",
     dict(title="Webhooks", customers=["Acme", "Globex", "Initech"], blocker="none")),
    ("Approval workflows requested from Initech",
     dict(title="Approval workflows", customers=["Initech"])),
    ("PDF invoices, 12 customers, $30k a year",
     dict(title="PDF invoices", customer_count=12, revenue=usd(30_000), revenue_period="arr")),
    ("Sandbox environment, twenty-one customers",
     dict(title="Sandbox environment", customer_count=21)),
    ("Role based access, 5 enterprise customers, $250,000 ARR, deal blocker",
     dict(title="Role based access", customer_count=5, revenue=usd(250_000),
          revenue_period="arr", blocker="deal_blocker")),
    ("Offline mode for Umbrella Corp, churn risk",
     dict(title="Offline mode", customers=["Umbrella Corp"], blocker="churn_risk")),
    ("Data residency, £3.5m, blocking the Q1 deal",
     dict(title="Data residency", revenue=Money(350_000_000, "GBP"), blocker="deal_blocker")),
    ("Custom domains, USD 40,000 one-time",
     dict(title="Custom domains", revenue=usd(40_000), revenue_period="one_time")),
    ("Read receipts, 40000 usd", dict(title="Read receipts", revenue=usd(40_000))),
    ("Better search; 7 accounts; it's a blocker for the Hooli renewal",
     dict(title="Better search", customers=["Hooli"], customer_count=7, blocker="churn_risk")),
    ("Bulk edit, high priority", dict(title="Bulk edit", importance="important")),
    ("Scheduled reports, not sure if blocker",
     dict(title="Scheduled reports", blocker="unknown")),
    ("Mobile push notifications, one customer, $8k MRR",
     dict(title="Mobile push notifications", customer_count=1, revenue=usd(96_000),
          revenue_period="arr", converted_from_mrr=True)),
    ("Hey team, Initech needs SAML\nThey have $75k ARR riding on it",
     dict(title="SAML", customers=["Initech"], revenue=usd(75_000), revenue_period="arr")),
    ("API rate limit increase for Bank of America",
     dict(title="API rate limit increase", customers=["Bank of America"])),
    ("Two-factor auth, 4 customers asking, about $60k ARR",
     dict(title="Two-factor auth", customer_count=4, revenue=usd(60_000),
          revenue_period="arr")),
    ("Zapier integration, $1,250.50 MRR",
     dict(title="Zapier integration", revenue=Money(1_500_600, "USD"), revenue_period="arr",
          converted_from_mrr=True)),
    ("Kanban board, customers: Acme, Globex",
     dict(title="Kanban board", customers=["Acme", "Globex"])),
    ("Time tracking, customer count: 9", dict(title="Time tracking", customer_count=9)),
    ("Export to Excel, $50k revenue at stake, doesn't block the deal",
     dict(title="Export to Excel", revenue=usd(50_000), blocker="none")),
    ("SCIM provisioning — a dozen customers — $2M pipeline",
     dict(title="SCIM provisioning", customer_count=12, revenue=usd(2_000_000))),
    # Nothing to read but the title: these must not turn into facts.
    ("Q3 roadmap review", dict(title="Q3 roadmap review")),
    ("v2 API for webhooks", dict(title="v2 API for webhooks")),
    ("500 errors on upload", dict(title="500 errors on upload")),
    ("SOC 2 report", dict(title="SOC 2 report")),
    ("Import up to 10k rows", dict(title="Import up to 10k rows")),
    ("Support for SSO", dict(title="Support for SSO")),
    ("Export for Salesforce users", dict(title="Export for Salesforce users")),
    ("Top 10 customers dashboard", dict(title="Top 10 customers dashboard")),
    ("Block users from posting", dict(title="Block users from posting")),
    ("Customer-facing status page", dict(title="Customer-facing status page")),
    ("Show 20% discount on invoices", dict(title="Show 20% discount on invoices")),
    ("Support iOS 17", dict(title="Support iOS 17")),
    ("Retry failed jobs after 24 hours", dict(title="Retry failed jobs after 24 hours")),
    ("Price range filter $50k-$70k", dict(title="Price range filter $50k-$70k")),
    ("Not a blocker but nice to have: bulk delete",
     dict(title="Bulk delete", blocker="none", importance="nice_to_have")),
    ("", dict()),
    ("$120k ARR", dict(revenue=usd(120_000), revenue_period="arr")),
    # a connector word inside a hyphenated word ("on" of "sign-on") is the title's own
    ("SAML single sign-on for Globex and Initech, $80k ARR",
     dict(title="SAML single sign-on", customers=["Globex", "Initech"], revenue=usd(80_000),
          revenue_period="arr")),
    ("Plug-in for Initech", dict(title="Plug-in", customers=["Initech"])),
    ("An add-on for Acme", dict(title="An add-on", customers=["Acme"])),
    ("Re-enable SSO for Acme", dict(title="Re-enable SSO", customers=["Acme"])),
    ("Log in with Google for Acme, and", dict(title="Log in with Google", customers=["Acme"])),
]
EMPTY_REQUEST = ParsedRequest()


@pytest.mark.parametrize(("text", "expected"), REQUESTS, ids=[t[:40] for t, _ in REQUESTS])
def test_parse_request_text(text, expected):
    assert parse_request_text(text) == ParsedRequest(**expected)


def test_request_table_is_big_enough():
    assert len(REQUESTS) >= 40
    assert sum(1 for _, fields in REQUESTS if set(fields) <= {"title"}) >= 8


def test_title_comes_from_the_first_line_and_is_capped():
    parsed = parse_request_text("Bulk export " + "very " * 60 + "long\nsecond line, 3 customers")
    assert parsed.title is not None and len(parsed.title) <= 150
    assert parsed.title.startswith("Bulk export very")
    assert parsed.customer_count == 3


def test_slack_markup_is_read_as_typed():
    parsed = parse_request_text("<@U123> Export &amp; import for Acme, <https://x.io|see spec>")
    assert parsed.title == "Export & import, see spec"
    assert parsed.customers == ["Acme"]


REPLIES = [
    ("We have 4 customers asking, about $75k ARR, and it's blocking the Acme renewal",
     dict(customer_count=4, revenue=usd(75_000), revenue_period="arr", blocker="churn_risk",
          customers=["Acme"])),
    ("also Initech, $20k", dict(customers=["Initech"], revenue=usd(20_000), additional=True)),
    ("not a blocker", dict(blocker="none")),
    ("It's a blocker for the deal", dict(blocker="deal_blocker")),
    ("close date is March 31", dict(deal_close_on=date(2027, 3, 31))),
    ("closes 2027-03-31", dict(deal_close_on=date(2027, 3, 31))),
    ("expected to close on 12/15", dict(deal_close_on=date(2026, 12, 15))),
    ("deal closing end of March", dict(deal_close_on=date(2027, 3, 31))),
    ("renewal is on June 30, churn risk",
     dict(renewal_on=date(2027, 6, 30), blocker="churn_risk")),
    ("opp: <https://acme.lightning.force.com/006xx|Acme opp>",
     dict(crm_url="https://acme.lightning.force.com/006xx", customers=["Acme"])),
    ("CRM link https://crm.example.com/deals/42", dict(crm_url="https://crm.example.com/deals/42")),
    ("plus another one: Globex, 50k MRR",
     dict(customers=["Globex"], revenue=usd(600_000), revenue_period="arr",
          converted_from_mrr=True, additional=True)),
    ("three clients", dict(customer_count=3)),
    ("Acme wants it too", dict(customers=["Acme"], additional=True)),
    ("about €40k", dict(revenue=Money(4_000_000, "EUR"))),
    # Chat, not answers.
    ("thanks!", dict()),
    ("here is the doc https://docs.google.com/document/d/1", dict()),
    ("I'll check with them on Monday", dict()),
    ("we shipped v2 last week, 500 errors are gone", dict()),
    ("let's sync in Q3", dict()),
]


@pytest.mark.parametrize(("text", "expected"), REPLIES, ids=[t[:40] for t, _ in REPLIES])
def test_parse_thread_reply(text, expected):
    parsed = parse_thread_reply(text, today=TODAY)
    assert parsed == ParsedReply(**expected)
    assert parsed.is_empty() == (set(expected) <= {"additional"})


DECISIONS = [
    ("planned for Q3: fits the platform theme",
     dict(status="planned", timeline="Q3 2027", target_on=date(2027, 9, 30),
          rationale="fits the platform theme")),
    ("<@U123> declined: too niche for now, revisit in March",
     dict(status="declined", rationale="too niche for now", revisit_on=date(2027, 3, 1))),
    ("needs more info: which SSO providers?",
     dict(status="needs_info", rationale="which SSO providers?")),
    ("already exists: use Reports > Export",
     dict(status="already_exists", rationale="use Reports > Export")),
    ("under review", dict(status="under_review")),
    ("<@U1|requestbot> Planned Q2 2027 - platform work",
     dict(status="planned", timeline="Q2 2027", target_on=date(2027, 6, 30),
          rationale="platform work")),
    ("planned for March 31, 2027: security push",
     dict(status="planned", timeline="March 31, 2027", target_on=date(2027, 3, 31),
          rationale="security push")),
    ("planned next sprint", dict(status="planned", timeline="next sprint")),
    ("Declined because too niche", dict(status="declined", rationale="too niche")),
    ("decision: declined, revisit next quarter",
     dict(status="declined", revisit_on=date(2027, 1, 1))),
    ("not planned: conflicts with the data model",
     dict(status="declined", rationale="conflicts with the data model")),
    ("planned for end of March", dict(status="planned", timeline="end of March 2027",
                                      target_on=date(2027, 3, 31))),
    ("planned for H2, revisit in 3 months",
     dict(status="planned", timeline="H2 2026", target_on=date(2026, 12, 31),
          revisit_on=date(2027, 2, 10))),
    ("I think we should talk about this", dict()),
    ("", dict()),
    ("plans change", dict()),
]


@pytest.mark.parametrize(("text", "expected"), DECISIONS, ids=[t[:40] for t, _ in DECISIONS])
def test_parse_decision_text(text, expected):
    assert parse_decision_text(text, TODAY) == ParsedDecision(**expected)


def test_revisit_in_the_current_month_means_next_year():
    parsed = parse_decision_text("declined, revisit in March", date(2027, 3, 15))
    assert parsed.revisit_on == date(2028, 3, 1)


TIMELINES = [
    ("Q3", ("Q3 2027", date(2027, 9, 30))),
    ("Q4", ("Q4 2026", date(2026, 12, 31))),
    ("Q3 2027", ("Q3 2027", date(2027, 9, 30))),
    ("Q3 '27", ("Q3 2027", date(2027, 9, 30))),
    ("2027 Q2", ("Q2 2027", date(2027, 6, 30))),
    ("March", ("March 2027", date(2027, 3, 31))),
    ("November", ("November 2026", date(2026, 11, 30))),
    ("end of March", ("end of March 2027", date(2027, 3, 31))),
    ("by end of Q1", ("end of Q1 2027", date(2027, 3, 31))),
    ("2027-05-01", ("May 1, 2027", date(2027, 5, 1))),
    ("next quarter", ("Q1 2027", date(2027, 3, 31))),
    ("this quarter", ("Q4 2026", date(2026, 12, 31))),
    ("next month", ("December 2026", date(2026, 12, 31))),
    ("H2", ("H2 2026", date(2026, 12, 31))),
    ("H1", ("H1 2027", date(2027, 6, 30))),
    ("second half of 2027", ("H2 2027", date(2027, 12, 31))),
    ("end of year", ("end of 2026", date(2026, 12, 31))),
    ("2027", ("2027", date(2027, 12, 31))),
    ("May", ("May 2027", date(2027, 5, 31))),
    ("in two weeks", ("November 24, 2026", date(2026, 11, 24))),
    ("February 29", ("February 29, 2028", date(2028, 2, 29))),
    ("soon", None),
    ("Q5", None),
    ("2027-02-30", None),
    ("Q3 roadmap", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), TIMELINES, ids=[t or "empty" for t, _ in TIMELINES])
def test_parse_timeline(text, expected):
    assert parse_timeline(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3), (" 12 ", 12), ("three", 3), ("Twenty", 20), ("twenty-one", 21),
     ("forty two", 42), ("a dozen", 12), ("1,200", 1200), ("about 7 customers", 7), ("0", 0),
     ("100000", 100_000), ("-3", None), ("100001", None), ("2.5", None), ("a few", None),
     ("", None), ("3 or 4", None), ("9" * 5000, None), ("lots", None)],
)
def test_parse_count(text, expected):
    assert parse_count(text) == expected


@given(st.text())
def test_request_parser_never_raises(text):
    assert isinstance(parse_request_text(text), ParsedRequest)


@given(st.text())
def test_reply_parser_never_raises(text):
    assert isinstance(parse_thread_reply(text, today=TODAY), ParsedReply)


@given(st.text(), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_decision_parser_never_raises(text, today):
    assert isinstance(parse_decision_text(text, today), ParsedDecision)
    parse_timeline(text, today)
    parse_count(text)


@given(st.lists(st.sampled_from([
    "for", "Acme", "$120k", "ARR", "MRR", ",", "3", "customers", "blocker", "not", "a",
    "renewal", "Q3", "March", "31", "nice to have", "also", "2027-03-31", "closes", "\n",
])))
def test_fragments_of_real_phrasings_never_raise(words):
    text = " ".join(words)
    parsed = parse_request_text(text)
    assert parsed.title is None or len(parsed.title) <= 150
    assert parse_thread_reply(text, today=TODAY).customer_count in (None, 3, 31)


@pytest.mark.parametrize("label", sorted({e[0] for _, e in TIMELINES if e}))
def test_timeline_labels_read_back_the_same(label):
    assert parse_timeline(label, TODAY)[0] == label


BLOCKER_WORDS = ["blocker", "Blocker", "BLOCKING", "blocks", "blocked", "deal-breaker",
                 "Deal Breaker", "show stopper", "ſhowſtopper", "bloc\u212aer", "non-blocking",
                 "not", "a", "it's", "is", "this", "for", "the", "Acme", "renewal", "deal",
                 "won't", "block", "us", "nothing", "tbd", "maybe", ":", "=", "no", ",", "\n"]


@given(st.lists(st.sampled_from(BLOCKER_WORDS), max_size=14).map(" ".join) | st.text())
def test_every_blocker_match_holds_an_anchor_word(text):
    """The parser skips the blocker patterns for a text without any of
    `_BLOCKER_ANCHORS`: sound only if no match of theirs lacks one."""
    for pattern in (facts._BLOCKER_NONE, facts._BLOCKER_UNKNOWN, facts._BLOCKER_YES):
        for match in pattern.finditer(text):
            folded = match[0].casefold()
            assert any(anchor in folded for anchor in facts._BLOCKER_ANCHORS), match[0]


@given(st.lists(st.sampled_from(BLOCKER_WORDS + ["and", "but", "an", "real", "hard", "sure",
                                                 "whether", "might", "be", "security", "review",
                                                 "would", "\x00"]), max_size=24).map(" ".join)
       | st.text())
def test_blocker_patterns_searched_from_the_lead_in_find_every_match(text):
    """`_blocker` searches each pattern from `_lead_in_start`, not from the text's start:
    sound only if it finds exactly what a search of the whole text finds."""
    start = facts._lead_in_start(text)
    for pattern in (facts._BLOCKER_NONE, facts._BLOCKER_UNKNOWN, facts._BLOCKER_YES):
        whole = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in pattern.finditer(text, start or 0)] == whole
        assert start is not None or not whole


@pytest.mark.parametrize("text", [
    "and it is not a real deal blocker for the Acme renewal",
    "not sure whether it is a deal blocker",
    "and it's an hard deal-breaker",
])
def test_the_longest_blocker_lead_ins_are_within_the_searched_words(text):
    padded = " ".join(["word"] * 30) + " " + text
    start = facts._lead_in_start(padded)
    assert start is not None and start > 0
    for pattern in (facts._BLOCKER_NONE, facts._BLOCKER_UNKNOWN, facts._BLOCKER_YES):
        assert [m.span() for m in pattern.finditer(padded, start)] == \
            [m.span() for m in pattern.finditer(padded)]
    assert parse_request_text(padded).blocker == parse_request_text(text).blocker


@pytest.mark.parametrize("text", [
    "Adblocker detection for Acme",
    "Unblocking the renewal flow in the admin console",
])
def test_blocker_words_inside_other_words_are_not_a_blocker(text):
    assert parse_request_text(text).blocker is None
