"""The vendor simulator speaks what the connectors expect, and its faults behave like the real ones.

The same connector classes that run against the vendors run here against the loopback
simulator; the transport's retry rules are checked from the simulator's own call log.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from pathlib import Path

import pytest
import requests

from relevo.connectors.errors import ConnectionFailed, InvalidRequest, NotFound, RateLimited, ServerError
from relevo.connectors.http import HttpClient
from relevo.model import Draft, Person, Presence
from tests.sim import Simulator, all_vendors
from tests.sim.seed import BUSINESS_ID, HOOTSUITE_ORG, IG_ID, PAGE_ID, TIKTOK_BC, generate, populate

TOKEN = "sim-token"


@pytest.fixture
def sim():
    with Simulator(all_vendors()) as server:
        for vendor in server.vendors.values():
            vendor.token = TOKEN if vendor.name != "bamboohr" else "bamboo-key"
        world = populate(generate(n_leavers=3, n_stayers=2), server.vendors)
        server.world = world
        yield server


def presence(pid: str, platform: str) -> Presence:
    return Presence(id=pid, platform=platform, account=pid, connector=platform)


def no_sleep(seconds: float) -> None:
    pass


def test_meta_page_and_business_members_and_revoke(sim):
    from relevo.connectors.meta import MetaBusinessConnector, MetaPageConnector

    leaver = sim.world.leavers[0]
    page = MetaPageConnector(sim.url("meta") + "/v21.0", TOKEN, PAGE_ID, BUSINESS_ID, sleep=no_sleep)
    grants = page.members(presence("facebook-page", "facebook_page"))
    assert len(grants) == len(sim.world.people)
    mine = next(g for g in grants if g.member_id == leaver.ids["facebook-page"])
    assert mine.is_admin  # index 0 leavers are admins in the seed
    assert page.revoke(presence("facebook-page", "facebook_page"), mine).status == "done"
    assert leaver.ids["facebook-page"] not in sim.vendors["meta"].assets[PAGE_ID]["users"]

    business = MetaBusinessConnector(sim.url("meta") + "/v21.0", TOKEN, BUSINESS_ID, sleep=no_sleep)
    users = business.members(presence("meta-business", "meta_business"))
    grant = next(g for g in users if g.identity == leaver.email)
    assert business.revoke(presence("meta-business", "meta_business"), grant).status == "done"
    # Gone: a second DELETE is answered with Graph's 100/33, which the connector reads as already done.
    assert business.revoke(presence("meta-business", "meta_business"), grant).status == "already_done"
    assert leaver.ids["instagram"] not in sim.vendors["meta"].assets[IG_ID]["users"]


def test_hootsuite_and_tiktok_members_and_revoke(sim):
    from relevo.connectors.hootsuite import HootsuiteConnector
    from relevo.connectors.tiktok import TikTokConnector

    leaver = sim.world.leavers[1]
    hoot = HootsuiteConnector(sim.url("hootsuite"), TOKEN, HOOTSUITE_ORG, sleep=no_sleep)
    grants = hoot.members(presence("hootsuite", "hootsuite"))
    assert {g.identity for g in grants} == {p.email for p in sim.world.people}
    assert sum(g.is_admin for g in grants) >= len(sim.world.stayers)
    mine = next(g for g in grants if g.identity == leaver.email)
    assert hoot.revoke(presence("hootsuite", "hootsuite"), mine).status == "done"
    assert hoot.revoke(presence("hootsuite", "hootsuite"), mine).status == "already_done"

    tiktok = TikTokConnector(sim.url("tiktok") + "/open_api/v1.3", TOKEN, TIKTOK_BC, sleep=no_sleep)
    grants = tiktok.members(presence("tiktok", "tiktok"))
    mine = next(g for g in grants if g.identity == leaver.email)
    assert tiktok.revoke(presence("tiktok", "tiktok"), mine).status == "done"
    assert tiktok.revoke(presence("tiktok", "tiktok"), mine).status == "already_done"


def test_hubspot_clients_and_batch_reassign(sim):
    from relevo.connectors.hubspot import HubSpotCRM

    leaver, stayer = sim.world.leavers[0], sim.world.stayers[0]
    crm = HubSpotCRM(TOKEN, sim.url("hubspot"), sleep=no_sleep)
    clients = crm.clients_of(leaver.email, leaver.id)
    owned = {cid for cid, owner in sim.world.companies.items() if owner == leaver.id}
    assert {c.id for c in clients} == owned
    assert all(c.contacts for c in clients)
    crm.reassign(clients, leaver.email, Person(stayer.name, stayer.email, stayer.id))
    companies = sim.vendors["hubspot"].objects["companies"]
    assert {companies[c]["properties"]["hubspot_owner_id"] for c in owned} == {stayer.owner_id}
    assert sim.log("hubspot", "POST", r"batch/update$")


def test_graph_drafts_are_idempotent_on_the_key(sim):
    from relevo.connectors.graph_drafts import GraphDrafts

    mailbox = sim.world.stayers[0].email
    drafts = GraphDrafts(TOKEN, sim.url("graph") + "/v1.0", sleep=no_sleep)
    draft = Draft(
        key="5001:notice:C1",
        mailbox=mailbox,
        sender_name="S",
        to_name="C",
        to_email="c@x.example",
        subject="Hola",
        text="t",
        html="<p>t</p>",
        language="es",
    )
    assert drafts.place(draft)[0] is True
    assert drafts.place(draft)[0] is False
    assert len(sim.vendors["graph"].mailboxes[mailbox.casefold()]) == 1


def test_bamboohr_employee_and_report_file(sim, tmp_path: Path):
    from relevo.connectors.bamboohr import BambooHR

    leaver = sim.world.leavers[0]
    hr = BambooHR(
        "acme",
        "bamboo-key",
        default_language="es",
        base_url=sim.url("bamboohr") + "/api/v1/",
        note_category=17,
        sleep=no_sleep,
    )
    employee = hr.employee(leaver.id)
    assert employee["email"] == leaver.email
    assert employee["termination"]["type"] == "involuntary"
    assert employee["manager"]["id"] == sim.world.stayers[0].id
    where = hr.write_note(leaver.id, "relevo offboarding report", "- done: x", tmp_path)
    assert "BambooHR file" in where
    assert sim.vendors["bamboohr"].files[0]["content"].startswith(b"relevo offboarding report")
    with pytest.raises(NotFound):
        hr.employee("999999")


def test_wrong_credential_is_refused_like_the_vendor(sim):
    from relevo.connectors.errors import AuthenticationError
    from relevo.connectors.hubspot import HubSpotCRM

    with pytest.raises(AuthenticationError):
        HubSpotCRM("wrong", sim.url("hubspot"), sleep=no_sleep).owner_id("x@y.example")
    assert len(sim.log("hubspot")) == 1  # 401 is never retried


# --- faults and limits, judged from the simulator's timestamps ---


def client(sim, vendor: str, **kwargs) -> HttpClient:
    return HttpClient(vendor, sim.url(vendor), headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)


def test_retry_after_is_honoured_between_attempts(sim):
    sim.configure("hubspot", fault_rate=1.0, faults=("429",), retry_after=0.3)
    with pytest.raises(RateLimited):
        client(sim, "hubspot").request("GET", "crm/owners/2026-09")
    calls = sim.log("hubspot")
    assert len(calls) == 3 and all(c.status == 429 and c.retry_after == 0.3 for c in calls)
    for before, after in itertools.pairwise(calls):
        assert after.started - before.ended >= 0.3


def test_integer_retry_after_and_then_success(sim):
    sim.configure("graph", fault_rate=1.0, faults=("503",), retry_after=1, fault_budget=1)
    http = client(sim, "graph")
    http.request("GET", "v1.0/users/x@y.example/messages")
    calls = sim.log("graph")
    assert [c.status for c in calls] == [503, 200]
    assert calls[1].started - calls[0].ended >= 1.0


def test_client_errors_are_never_retried(sim):
    http = client(sim, "hubspot")
    with pytest.raises(InvalidRequest):
        http.request(
            "POST",
            "crm/objects/2026-09/companies/batch/update",
            json={"inputs": [{"id": "nope", "properties": {}}]},
            idempotent=True,
        )
    with pytest.raises(NotFound):
        http.request("GET", "crm/owners/2026-09/0")
    assert [c.status for c in sim.log("hubspot")] == [400, 404]


def test_server_errors_retry_only_idempotent_calls(sim):
    sim.configure("hubspot", fault_rate=1.0, faults=("500",))
    http = client(sim, "hubspot", sleep=no_sleep)
    with pytest.raises(ServerError):
        http.request("GET", "crm/owners/2026-09")
    with pytest.raises(ServerError):
        http.request("POST", "crm/objects/2026-09/companies/search", json={})  # not idempotent: one try
    assert [c.method for c in sim.log("hubspot")] == ["GET", "GET", "GET", "POST"]


def test_connection_reset_and_read_timeout_are_connection_failures(sim):
    sim.configure("tiktok", fault_rate=1.0, faults=("reset",))
    http = HttpClient(
        "tiktok", sim.url("tiktok"), headers={"Access-Token": TOKEN}, sleep=no_sleep, timeout=(1.0, 0.3)
    )
    with pytest.raises(ConnectionFailed, match="could not connect"):
        http.request("GET", "open_api/v1.3/bc/member/get/", params={"bc_id": TIKTOK_BC})
    assert len(sim.log("tiktok")) == 3 and all(c.status is None for c in sim.log("tiktok"))
    sim.reset_log()
    sim.configure("tiktok", faults=("timeout",), hang=0.6)
    with pytest.raises(ConnectionFailed, match="timed out"):
        http.request("POST", "open_api/v1.3/bc/member/delete/", json={"bc_id": TIKTOK_BC, "user_id": "1"})
    assert len(sim.log("tiktok")) == 1  # a POST that may have arrived is not repeated


def test_fault_sequence_is_reproducible_for_a_seed():
    def statuses() -> list[int | None]:
        # A short Retry-After: the shared wait it causes is not what this test measures (16 s with 1 s).
        with Simulator(
            all_vendors(), fault_rate=0.5, seed=7, faults=("429", "500", "503"), retry_after=0.05
        ) as server:
            http = HttpClient(
                "graph", server.url("graph"), headers={"Authorization": "Bearer t"}, max_attempts=1
            )
            for _ in range(20):
                with contextlib.suppress(Exception):
                    http.request("GET", "v1.0/users/a@b.example/messages")
            return [c.status for c in server.log("graph")]

    first = statuses()
    assert first == statuses()
    assert {429, 200} <= set(first)


def test_hubspot_window_headers_and_429_without_retry_after(sim):
    sim.vendors["hubspot"].set_limits(enabled=True, per_window=3, window=5.0)
    http = client(sim, "hubspot", max_attempts=1)
    remaining = [
        http.request("GET", "crm/owners/2026-09").headers["X-HubSpot-RateLimit-Remaining"] for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    with pytest.raises(RateLimited) as caught:
        http.request("GET", "crm/owners/2026-09")
    assert caught.value.retry_after is None
    last = sim.log("hubspot")[-1]
    assert last.status == 429 and last.fault == "rate_limit"


def test_hubspot_connector_paces_itself_inside_the_window(sim):
    from relevo.connectors.hubspot import HubSpotCRM

    sim.vendors["hubspot"].set_limits(enabled=True, per_window=4, window=0.4)
    crm = HubSpotCRM(TOKEN, sim.url("hubspot"))
    started = time.monotonic()
    for number in range(10):  # ten different owners: each one call (an owner is looked up once)
        crm.owner_id(f"owner{number}@acme-sim.example")
    assert not [c for c in sim.log("hubspot") if c.status == 429]
    assert time.monotonic() - started >= 0.8  # two full windows waited out, not hammered


def test_meta_usage_header_grows_and_throttled_connector_stops_calling(sim):
    from relevo.connectors.meta import MetaBusinessConnector, UsagePacer

    sim.vendors["meta"].usage.calls_per_window = 4
    sim.vendors["meta"].usage.regain_minutes = 5
    http = client(sim, "meta", max_attempts=1)
    usage = []
    for _ in range(4):
        header = http.request("GET", f"v21.0/{BUSINESS_ID}/business_users").headers[
            "X-Business-Use-Case-Usage"
        ]
        usage.append(json.loads(header)[BUSINESS_ID][0]["call_count"])
    assert usage == [25, 50, 75, 100]
    slept: list[float] = []
    business = MetaBusinessConnector(
        sim.url("meta") + "/v21.0",
        TOKEN,
        BUSINESS_ID,
        pacer=UsagePacer(sleep=slept.append, max_wait=60),
        sleep=slept.append,
    )
    with pytest.raises(RateLimited):
        business.members(presence("meta-business", "meta_business"))
    seen = len(sim.log("meta"))
    assert seen == 5  # a 5-minute block is longer than the transport waits: handed back at once
    with pytest.raises(RateLimited, match="paused"):
        business.members(presence("meta-business", "meta_business"))
    assert len(sim.log("meta")) == seen  # once throttled, Meta is not called again until the block ends


def test_unknown_route_fails_loudly(sim):
    response = requests.get(
        sim.url("hootsuite") + "/v2/nothing", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 404 and response.json()["errors"][0]["message"] == "Not found"
