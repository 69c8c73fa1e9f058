"""Export every request as JSON or CSV, and import a JSON export: same ids, times and text."""

from __future__ import annotations

import csv
import gc
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from bot.db import Database, upgrade
from bot.services.demand import live_totals, totals_of
from bot.services.export import ImportError_, import_file, write_export
from bot.services.priority import Currencies
from models import (
    Customer,
    Decision,
    Request,
    RequestCustomer,
    RequestDemand,
    RequestMatchKey,
    RequestRep,
)
from tests.harness import statements_run

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
TRICKY = 'Needs <!channel> & <@U123> to see it, "now",\nsecond line, with commas'

REQUIRED_FIELDS = {
    "id", "team_id", "title", "description", "status", "customers", "customer_count",
    "revenue", "currency", "blocker", "requested_by", "channel_id", "thread_ts", "permalink",
    "duplicate_of", "created_at", "updated_at", "decision",
}
DECISION_FIELDS = {"status", "rationale", "timeline", "decided_by", "decided_at", "revisit_at"}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def seed(session) -> dict[str, int]:
    """Requests in two workspaces: named and unnamed asks, two currencies, a merged duplicate
    pointing at a later request, a decision history of two, and text with Slack markup."""
    acme = Customer(team_id="T1", name="Acme", name_key="acme", crm_id="crm-1",
                    crm_url="https://crm.example/acme", created_at=at(0))
    globex = Customer(team_id="T1", name="Globex", name_key="globex", created_at=at(0))
    acme_t2 = Customer(team_id="T2", name="Acme", name_key="acme", created_at=at(0))
    session.add_all([acme, globex, acme_t2])
    session.flush()

    def request(**values) -> Request:
        defaults = dict(team_id="T1", source="command", requested_by="U1", channel_id="C1",
                        created_at=at(1), updated_at=at(2))
        row = Request(**{**defaults, **values})
        session.add(row)
        session.flush()
        return row

    merged = request(title="CSV export (dupe)", status="merged", thread_ts="1700000000.000100",
                     created_at=at(1), updated_at=at(30))
    export = request(
        title='Bulk CSV export, "fast" & <@U123>', problem=TRICKY,
        proposed_solution="A button, maybe", status="planned", source="shortcut",
        requested_by="U2", message_ts="1700000000.000200", thread_ts="1700000000.000200",
        card_channel_id="C1", card_ts="1700000000.000300",
        permalink="https://example.slack.com/archives/C1/p1700000000000200",
        effort="M", effort_weeks=3, strategic_fit=4, reminders_stopped=True,
        follow_up_ts="1700000000.000400", follow_up_asked_at=at(3),
        created_at=at(2), updated_at=at(40),
    )
    merged.duplicate_of_id = export.id
    quiet = request(title="Dark mode", status="new", customer_count=4, created_at=at(3),
                    updated_at=at(3))
    yen = request(title="Invoices in yen", status="under_review", created_at=at(4),
                  updated_at=at(5))
    other_team = request(team_id="T2", title="Acme in T2", created_at=at(5), updated_at=at(6))

    def ask(req: Request, customer: Customer | None, minutes: int, **values) -> None:
        session.add(RequestCustomer(
            team_id=req.team_id, request_id=req.id, customer_id=customer and customer.id,
            added_by="U1", created_at=at(minutes), updated_at=at(minutes + 1), **values,
        ))

    ask(export, acme, 10, revenue_minor=12_000_000, currency="USD", revenue_period="annual",
        importance="must_have", blocker="deal_blocker", deal_close_on=date(2027, 1, 15),
        deal_amount_minor=25_000_050, crm_url="https://crm.example/deal/1")
    ask(export, globex, 11, revenue_minor=500_000, currency="EUR", blocker="none")
    ask(export, None, 12, revenue_minor=125_050, currency="USD", blocker="unknown")
    ask(merged, acme, 13, revenue_minor=100, currency="USD", blocker="churn_risk",
        renewal_on=date(2027, 3, 1))
    ask(yen, None, 14, revenue_minor=1_500_000, currency="JPY")
    ask(other_team, acme_t2, 15, blocker="none")
    for req, user, role, minutes in [
        (export, "U2", "requester", 2), (export, "U3", "supporter", 20),
        (merged, "U1", "requester", 1), (quiet, "U1", "requester", 3),
    ]:
        session.add(RequestRep(team_id=req.team_id, request_id=req.id, user_id=user, role=role,
                               created_at=at(minutes)))
    session.add(Decision(team_id="T1", request_id=export.id, status="needs_info",
                         rationale="Which file sizes?", needed_info="Sizes", decided_by="UPM",
                         decided_at=at(20), evidence={}))
    session.add(Decision(team_id="T1", request_id=export.id, status="planned",
                         rationale="Top ask, <b>really</b> & more", timeline="Q1 2027",
                         target_on=date(2027, 3, 31), decided_by="UPM", decided_at=at(30),
                         revisit_at=at(60 * 24 * 30), workaround="Use the API",
                         reply_text="Planned for Q1", evidence={"score": 0.75, "votes": 3},
                         reopen_conditions={"customers": 5}))
    return {"merged": merged.id, "export": export.id, "quiet": quiet.id, "yen": yen.id,
            "other_team": other_team.id}


def export_text(database: Database, fmt: str = "json") -> str:
    out = io.StringIO()
    with database.sessions() as session:
        write_export(session, fmt, out)
    return out.getvalue()


def by_id(exported: str) -> dict[int, dict]:
    return {record["id"]: record for record in json.loads(exported, parse_float=Decimal)}


def count(database: Database, model) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def seeded(db: Database) -> dict[str, int]:
    return db.transaction(seed)


@pytest.fixture
def fresh_db(empty_database_url: str) -> Iterator[Database]:
    """A second database, migrated and empty."""
    fresh = Database(empty_database_url)
    upgrade(fresh)
    yield fresh
    fresh.dispose()


def test_json_export_has_every_field_with_json_types(db, seeded):
    exported = export_text(db)
    records = by_id(exported)

    assert list(records) == sorted(seeded.values())
    for record in records.values():
        assert REQUIRED_FIELDS <= record.keys()
        for name in ("created_at", "updated_at"):
            assert datetime.fromisoformat(record[name]).utcoffset() == timedelta(0)
        assert record["status"] == record["status"].lower()
    main = records[seeded["export"]]
    assert main["team_id"] == "T1"
    assert main["title"] == 'Bulk CSV export, "fast" & <@U123>'
    assert main["description"] == TRICKY
    assert main["status"] == "planned"
    assert main["source"] == "shortcut"
    assert main["requested_by"] == "U2"
    assert main["customers"] == ["Acme", "Globex"]
    assert main["customer_count"] == 2 and main["stated_customer_count"] is None
    assert main["revenue"] == Decimal("121250.5") and main["currency"] == "USD"
    assert main["revenue_by_currency"] == {"USD": Decimal("121250.5"), "EUR": 5000}
    assert main["blocker"] is True
    assert main["created_at"] == "2026-11-27T10:02:00+00:00"
    assert main["reminders_stopped"] is True and main["effort_weeks"] == 3
    decision = main["decision"]
    assert DECISION_FIELDS <= decision.keys()
    assert decision["status"] == "planned" and decision["timeline"] == "Q1 2027"
    assert decision["rationale"] == "Top ask, <b>really</b> & more"
    assert datetime.fromisoformat(decision["revisit_at"]) == at(60 * 24 * 30)
    assert decision["target_on"] == "2027-03-31"
    assert [d["status"] for d in main["decisions"]] == ["needs_info", "planned"]
    assert main["decisions"][-1] == decision
    assert [a["customer"] for a in main["asks"]] == ["Acme", "Globex", None]
    assert main["asks"][0]["deal_amount"] == Decimal("250000.5")
    assert main["asks"][0]["deal_close_on"] == "2027-01-15"
    assert main["asks"][0]["customer_crm_id"] == "crm-1"
    assert [(r["user_id"], r["role"]) for r in main["reps"]] == [
        ("U2", "requester"), ("U3", "supporter")
    ]

    merged = records[seeded["merged"]]
    assert merged["status"] == "merged" and merged["duplicate_of"] == seeded["export"]
    assert merged["blocker"] is True and merged["revenue"] == Decimal("1")
    quiet = records[seeded["quiet"]]
    assert quiet["customer_count"] == 4 and quiet["customers"] == []
    assert quiet["revenue"] is None and quiet["currency"] is None
    assert quiet["blocker"] is None and quiet["decision"] is None and quiet["decisions"] == []
    yen = records[seeded["yen"]]
    assert yen["revenue"] == 1500000 and yen["currency"] == "JPY"
    assert yen["customer_count"] is None
    other = records[seeded["other_team"]]
    assert other["team_id"] == "T2" and other["customers"] == ["Acme"]
    assert other["blocker"] is False


def test_json_export_writes_text_as_typed_and_money_as_numbers(db, seeded):
    exported = export_text(db)

    assert exported.startswith("[\n{") and exported.endswith("}\n]\n")
    assert '"title": "Bulk CSV export, \\"fast\\" & <@U123>"' in exported
    assert "<!channel> & <@U123>" in exported
    assert "&amp;" not in exported and "&lt;" not in exported
    assert '"revenue": 121250.5,' in exported
    assert '"revenue": 1500000,' in exported
    assert '"deal_amount": 250000.5,' in exported
    assert json.loads(exported)[0]["revenue"] == 1  # JSON numbers, not strings


def test_export_of_an_empty_database_is_an_empty_array(db):
    assert export_text(db) == "[]\n"
    assert json.loads(export_text(db)) == []
    rows = list(csv.reader(io.StringIO(export_text(db, "csv"))))
    assert len(rows) == 1  # the header only
    header = rows[0]
    assert header[:3] == ["id", "team_id", "title"]
    assert REQUIRED_FIELDS - {"decision"} <= set(header)
    assert {f"decision_{name}" for name in DECISION_FIELDS} <= set(header)
    assert not {"decision", "asks", "reps", "decisions"} & set(header)


def test_csv_export_parses_back_with_one_row_per_request(db, seeded):
    rows = {int(row["id"]): row for row in csv.DictReader(io.StringIO(export_text(db, "csv")))}

    assert set(rows) == set(seeded.values())
    main = rows[seeded["export"]]
    assert main["description"] == TRICKY
    assert main["title"] == 'Bulk CSV export, "fast" & <@U123>'
    assert main["customers"] == "Acme; Globex"
    assert main["revenue"] == "121250.5" and main["currency"] == "USD"
    assert main["revenue_by_currency"] == "USD 121250.5; EUR 5000"
    assert main["blocker"] == "true"
    assert main["decision_status"] == "planned"
    assert main["decision_rationale"] == "Top ask, <b>really</b> & more"
    assert main["decision_timeline"] == "Q1 2027"
    assert main["decision_decided_by"] == "UPM"
    assert datetime.fromisoformat(main["decision_revisit_at"]) == at(60 * 24 * 30)
    assert datetime.fromisoformat(main["created_at"]).tzinfo is not None
    assert "asks" not in main and "decisions" not in main
    quiet = rows[seeded["quiet"]]
    assert quiet["decision_status"] == "" and quiet["blocker"] == "" and quiet["revenue"] == ""
    assert quiet["customer_count"] == "4"
    assert rows[seeded["merged"]]["duplicate_of"] == str(seeded["export"])
    assert rows[seeded["other_team"]]["blocker"] == "false"


def test_export_import_into_a_fresh_database_and_export_again_is_identical(
    db, seeded, fresh_db, tmp_path
):
    original = export_text(db)
    path = tmp_path / "export.json"
    path.write_text(original, encoding="utf-8")

    report = import_file(fresh_db, path)

    assert (report.added, report.skipped) == (len(seeded), 0)
    assert export_text(fresh_db) == original
    assert export_text(fresh_db, "csv") == export_text(db, "csv")
    assert count(fresh_db, Customer) == 3  # Acme and Globex in T1, Acme in T2

    again = import_file(fresh_db, path)

    assert (again.added, again.skipped) == (0, len(seeded))
    assert export_text(fresh_db) == original
    for model in (Request, Customer, RequestCustomer, RequestRep, Decision):
        assert count(fresh_db, model) == count(db, model)


def test_imported_requests_are_ranked_and_found_as_similar(db, seeded, fresh_db, tmp_path):
    """Bulk inserts skip what filing stores beside the rows: it is stored for them too."""
    path = tmp_path / "export.json"
    path.write_text(export_text(db), encoding="utf-8")
    import_file(fresh_db, path)
    with fresh_db.read_sessions() as session:
        canonical = list(session.scalars(select(Request).where(Request.status != "merged")))
        stored = totals_of(session, "T1", [r.id for r in canonical if r.team_id == "T1"],
                           Currencies())
        live = live_totals(session, "T1", list(stored), Currencies())
        assert stored == live
        assert count(fresh_db, RequestDemand) == len(canonical)
        assert count(fresh_db, RequestMatchKey) > 0  # the seeded rows had none
        for customer in session.scalars(select(Customer)):
            assert customer.ask_count == session.scalar(
                select(func.count()).select_from(RequestCustomer)
                .where(RequestCustomer.customer_id == customer.id))


def test_a_request_filed_after_an_import_gets_a_new_id(db, seeded, fresh_db, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(export_text(db), encoding="utf-8")
    import_file(fresh_db, path)

    def file_one(session) -> int:
        request = Request(team_id="T1", title="New", source="command", requested_by="U1")
        session.add(request)
        session.flush()
        return request.id

    assert fresh_db.transaction(file_one) > max(seeded.values())


def test_import_into_the_same_database_adds_only_what_is_missing(db, seeded, tmp_path):
    original = export_text(db)
    path = tmp_path / "export.json"
    path.write_text(original, encoding="utf-8")
    db.transaction(lambda session: session.delete(session.get(Request, seeded["quiet"])))
    assert count(db, RequestRep) == 3

    report = import_file(db, path)

    assert (report.added, report.skipped) == (1, len(seeded) - 1)
    assert export_text(db) == original
    assert count(db, RequestRep) == 4 and count(db, Customer) == 3


def test_hand_made_file_without_asks_builds_them_from_the_summary(db, tmp_path):
    db.transaction(lambda s: s.add(Customer(team_id="T1", name="Initech", name_key="initech")))
    path = tmp_path / "hand.json"
    path.write_text("""[
      {"id": 11, "team_id": "T1", "title": "SSO", "created_at": "2026-11-27T10:00:00Z",
       "requested_by": "U9", "customers": ["Hooli", "Pied Piper"], "revenue": 1500000,
       "currency": "JPY", "customer_count": 5, "status": "planned",
       "decision": {"status": "planned", "timeline": "Q3", "decided_by": "UPM",
                    "decided_at": "2026-11-28T09:30:00+01:00"}},
      {"id": 10, "team_id": "T1", "title": "Audit log", "created_at": "2026-11-27T09:00:00Z",
       "requested_by": "U8", "customers": [" initech "], "revenue": 1250.35,
       "currency": "USD", "blocker": true}
    ]""", encoding="utf-8")

    report = import_file(db, path)

    assert (report.added, report.skipped) == (2, 0)
    with db.sessions() as session:
        asks = session.execute(
            select(RequestCustomer.request_id, Customer.name, RequestCustomer.revenue_minor,
                   RequestCustomer.currency, RequestCustomer.blocker)
            .outerjoin(Customer, RequestCustomer.customer_id == Customer.id)
            .order_by(RequestCustomer.id)
        ).all()
    assert [tuple(a) for a in asks] == [
        (11, "Hooli", None, None, None),
        (11, "Pied Piper", None, None, None),
        (11, None, 1_500_000, "JPY", None),
        (10, "Initech", 125_035, "USD", "deal_blocker"),  # 1250.35 exactly, no float on the way
    ]
    assert count(db, Customer) == 3
    records = by_id(export_text(db))
    assert records[10]["revenue"] == Decimal("1250.35") and records[10]["blocker"] is True
    assert records[10]["reps"] == [
        {"user_id": "U8", "role": "requester", "created_at": "2026-11-27T09:00:00+00:00"}
    ]
    sso = records[11]
    assert sso["customers"] == ["Hooli", "Pied Piper"] and sso["customer_count"] == 5
    assert sso["revenue"] == 1500000 and sso["currency"] == "JPY" and sso["blocker"] is None
    assert sso["decision"]["status"] == "planned"
    assert sso["decision"]["decided_at"] == "2026-11-28T08:30:00+00:00"
    assert sso["source"] == "import"


GOOD = {"id": 1, "team_id": "T1", "title": "Fine", "requested_by": "U1",
        "created_at": "2026-11-27T10:00:00+00:00"}


def bad(**changes) -> str:
    record = {**GOOD, "id": 2, **changes}
    return json.dumps([GOOD, {k: v for k, v in record.items() if v is not None}])


@pytest.mark.parametrize(("content", "message"), [
    ('[{"id": 1,', "not JSON"),
    ('[{"id": 1, "revenue": NaN}]', "not JSON"),
    ('{"id": 1}', "expected an array"),
    ("[1]", "record 1: expected an object"),
    (bad(title=None), "record 2 (id 2): title: missing"),
    (bad(title="   "), "record 2 (id 2): title: missing"),
    (bad(team_id=None), "record 2 (id 2): team_id: missing"),
    (bad(created_at=None), "record 2 (id 2): created_at: missing"),
    (bad(id="2"), "record 2: id: expected a whole number"),
    (bad(created_at="yesterday"), "created_at: not an ISO 8601 time with a time zone"),
    (bad(created_at="2026-11-27T10:00:00"), "created_at: not an ISO 8601 time with a time zone"),
    (bad(status="Planned"), "record 2 (id 2): status: \"Planned\" is not one of new,"),
    (bad(decisions=[{"status": "maybe", "decided_by": "U", "decided_at": GOOD["created_at"]}]),
     "decisions[0].status"),
    (bad(decision={"status": "planned", "decided_by": "U"}), "decision.decided_at: missing"),
    (bad(asks=[{"revenue": 10.5, "currency": "JPY"}]),
     "asks[0].revenue: 10.5 has more decimals than JPY allows"),
    (bad(asks=[{"revenue": 1, "currency": "usd"}]), "asks[0].currency"),
    (bad(revenue="$120k", currency="USD"), "revenue: expected a number"),
    (bad(asks=[{"customer": "Acme"}, {"customer": "acme "}]), "appears twice"),
    (bad(title="x" * 201), "title: longer than 200 characters"),
    (bad(id=1), "record 2: id 1 appears twice in the file"),
    (bad(duplicate_of=999), "request 2: duplicate_of: no request 999"),
])
def test_a_bad_file_is_refused_with_one_line_and_nothing_is_stored(
    db, tmp_path, content, message
):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ImportError_) as raised:
        import_file(db, path)

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(str(path))
    assert count(db, Request) == 0 and count(db, Customer) == 0


def test_an_import_the_database_refuses_halfway_stores_nothing(db, tmp_path, monkeypatch):
    """Without the up-front link check, the foreign key stops the import after the inserts."""
    monkeypatch.setattr("bot.services.export._check_duplicate_links", lambda *args: None)
    path = tmp_path / "dangling.json"
    path.write_text(bad(duplicate_of=999), encoding="utf-8")

    with pytest.raises(ImportError_, match="the database refused the import") as raised:
        import_file(db, path)

    assert "\n" not in str(raised.value)
    assert count(db, Request) == 0 and count(db, RequestRep) == 0


def test_a_missing_file_is_refused_with_one_line(db, tmp_path):
    with pytest.raises(ImportError_, match="cannot read the file"):
        import_file(db, tmp_path / "nowhere.json")


def bulk_requests(database: Database, first_id: int, how_many: int) -> None:
    """Rows straight through Core: a request with two asks, a rep and a decision each."""
    ids = range(first_id, first_id + how_many)
    times = {"created_at": T0, "updated_at": T0}
    with database.engine.begin() as connection:
        customer_id = connection.scalar(select(Customer.id).where(Customer.name_key == "acme"))
        if customer_id is None:
            customer_id = connection.scalar(insert(Customer).returning(Customer.id), {
                "team_id": "T1", "name": "Acme", "name_key": "acme", "created_at": T0})
        connection.execute(insert(Request), [
            {"id": i, "team_id": "T1", "title": f"Request {i} with a longish title",
             "problem": "Some words about the problem, " * 5, "status": "new",
             "source": "command", "requested_by": "U1", "reminders_stopped": False, **times}
            for i in ids
        ])
        connection.execute(insert(RequestCustomer), [
            {"team_id": "T1", "request_id": i, "customer_id": customer, "revenue_minor": 100_00,
             "currency": "USD", "added_by": "U1", **times}
            for i in ids for customer in (customer_id, None)
        ])
        connection.execute(insert(RequestRep), [
            {"team_id": "T1", "request_id": i, "user_id": "U1", "role": "requester",
             "created_at": T0} for i in ids
        ])
        connection.execute(insert(Decision), [
            {"team_id": "T1", "request_id": i, "status": "planned", "decided_by": "UPM",
             "decided_at": T0, "evidence": {}} for i in ids
        ])


class CountingSink(io.TextIOBase):
    """Takes the export and keeps only its length, so only the exporter's memory is measured."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, data: str) -> int:
        self.chars += len(data)
        return len(data)


def export_peak(database: Database) -> tuple[int, int, int]:
    sink = CountingSink()
    gc.collect()
    with database.sessions() as session:
        tracemalloc.start()
        try:
            exported = write_export(session, "json", sink)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return exported, peak, sink.chars


def test_export_memory_stays_flat_as_requests_grow(db):
    bulk_requests(db, 1, 2000)
    export_peak(db)  # warm caches: compiled queries, connection
    small_count, small_peak, small_chars = export_peak(db)
    bulk_requests(db, 2001, 6000)

    large_count, large_peak, large_chars = export_peak(db)

    assert (small_count, large_count) == (2000, 8000)
    assert large_chars > 3.9 * small_chars
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


@pytest.mark.parametrize(("fmt", "queries"), [("csv", 9), ("json", 12)])
def test_export_reads_in_chunks_with_one_query_per_table(db, fmt, queries):
    bulk_requests(db, 1, 2500)
    with statements_run(db) as run, db.sessions() as session:
        assert write_export(session, fmt, io.StringIO()) == 2500
    statements = [sql for sql, _ in run if sql.lstrip().upper().startswith("SELECT")]

    # three chunks (1000, 1000, 500): requests, asks and decisions each, and for JSON reps
    # (a CSV row has none of a request's reps)
    assert len(statements) == queries
    assert sum("FROM request_customer" in s for s in statements) == 3
    assert sum("FROM request_rep" in s for s in statements) == (3 if fmt == "json" else 0)
