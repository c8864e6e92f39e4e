"""The simulator answers the social connectors as the vendors document (so benches and reliability tests stay honest).

TikTok's answers are checked against TikTok's own definitions (tests/specs/tiktok/); Meta's
follow the Business SDK: Page edges only with a Page token, invitations as Business Role
Requests, 100/33 for what is not there.
"""

from __future__ import annotations

import pytest
import requests

from relevo.connectors.meta import MetaBusinessConnector, MetaPageConnector, graph_base_url
from relevo.connectors.tiktok import TikTokConnector
from relevo.model import Person, Presence
from tests.connectors.tiktok_spec import check_answer, check_request, spec_path
from tests.sim import Simulator, all_vendors
from tests.sim.seed import BUSINESS_ID, PAGE_ID, TIKTOK_BC, generate, populate

TOKEN = "sim-token"


@pytest.fixture
def sim():
    with Simulator(all_vendors()) as server:
        for vendor in server.vendors.values():
            vendor.token = TOKEN if vendor.name != "bamboohr" else "bamboo-key"
        server.world = populate(generate(n_leavers=2, n_stayers=2), server.vendors)
        yield server


def presence(pid: str, platform: str) -> Presence:
    return Presence(id=pid, platform=platform, account=pid, connector=platform)


def test_tiktok_simulator_answers_as_tiktok_defines_and_lists_invitations_without_user_id(sim) -> None:
    answers: list[str] = []

    def against_spec(response, *args, **kwargs):
        check_request(response.request)
        check_answer(spec_path(response.request.url), response.json())
        answers.append(response.request.method)
        return response

    tiktok = TikTokConnector(sim.url("tiktok") + "/open_api/v1.3", TOKEN, TIKTOK_BC, sleep=lambda s: None)
    tiktok.client.session.hooks["response"].insert(0, against_spec)
    bc = presence("tiktok", "tiktok")
    tiktok.add_admin(bc, Person("Nuria Castells Vidal", "nuria.castells@acme-sim.example"))
    invited = next(g for g in tiktok.members(bc) if g.identity == "nuria.castells@acme-sim.example")
    assert invited.member_id == "email:nuria.castells@acme-sim.example" and not invited.is_admin
    assert tiktok.revoke(bc, invited).status == "done"
    assert invited.member_id not in tiktok.holders(bc)
    assert answers.count("POST") == 2 and answers.count("GET") >= 2


def test_meta_simulator_wants_a_page_token_and_keeps_invitations_apart(sim) -> None:
    base = graph_base_url({"base_url": sim.url("meta")})
    raw = requests.get(
        f"{base}/{PAGE_ID}/assigned_users",
        params={"business": BUSINESS_ID},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert (
        raw.status_code == 400 and raw.json()["error"]["code"] == 210
    )  # the system user's token is not enough
    page = MetaPageConnector(base, TOKEN, PAGE_ID, BUSINESS_ID, sleep=lambda s: None)
    assert len(page.members(presence("page", "facebook_page"))) == len(sim.world.people)
    meta = sim.vendors["meta"]
    leaver = sim.world.leavers[0]
    meta.invite_pending(BUSINESS_ID, leaver.email, "ADMIN")
    business = MetaBusinessConnector(base, TOKEN, BUSINESS_ID, sleep=lambda s: None)
    grants = [g for g in business.members(presence("biz", "meta_business")) if g.identity == leaver.email]
    assert sorted(g.pre_state.get("kind") or "user" for g in grants) == ["invitation", "user"]
    for grant in grants:
        assert business.revoke(presence("biz", "meta_business"), grant).status == "done"
    assert not {g.member_id for g in grants} & business.holders(presence("biz", "meta_business"))
    gone = business.revoke(presence("biz", "meta_business"), grants[0])  # Graph: 100/33, only a claim
    assert gone.status == "already_done" and "100/33" in gone.detail
