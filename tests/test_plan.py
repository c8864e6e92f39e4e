"""The rules in flows/rules/plan.py, on the example company, without Prefect or a network."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from relevo.config.registry import Registry, load_registry
from relevo.connectors.directory import DirectoryCRM, DirectoryHR
from relevo.model import Grant
from relevo.rules import notices
from relevo.rules.plan import is_leavers, plan, plan_presences, revoke_time

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme" / "relevo.yaml"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry():
    return load_registry(EXAMPLE)


def employee(registry, employee_id: str) -> dict:
    return DirectoryHR(registry.base / "hr.json", "es").employee(employee_id)


def members(registry) -> dict:
    return {p.id: registry.social(p).members(p) for p in registry.presences}


def full_plan(registry, employee_id: str, now=NOW, revoke_now=False):
    emp = employee(registry, employee_id)
    clients = DirectoryCRM(registry.base / "clients.json", registry.output_dir).clients_of(
        emp["email"], emp["id"]
    )
    drafts = notices.draft_actions(emp, registry, clients, now)
    return plan(emp, registry, members(registry), clients, drafts, now, revoke_now)


def test_dismissal_revokes_every_role_the_leaver_holds_and_nobody_elses(registry):
    actions = plan_presences(employee(registry, "1001"), registry, members(registry))
    revoked = {(a.presence.id, a.grant.employee_id) for a in actions if a.action == "revoke_role"}
    assert revoked == {
        (p, "1001")
        for p in ("facebook-page", "instagram", "linkedin-page", "x-account", "youtube-channel", "hootsuite")
    }


def test_sole_admin_gets_a_successor_admin_first_and_revocation_waits_for_it(registry):
    actions = plan_presences(employee(registry, "1001"), registry, members(registry))
    youtube = [a for a in actions if a.presence and a.presence.id == "youtube-channel"]
    assert [a.action for a in youtube] == ["add_admin", "revoke_role"]
    add, revoke = youtube
    assert add.person.email == "nuria.castells@acme-comunicacion.example"  # the successor
    assert revoke.after == add.key


def test_no_admin_step_when_another_admin_remains(registry):
    actions = plan_presences(employee(registry, "1001"), registry, members(registry))
    facebook = [a for a in actions if a.presence and a.presence.id == "facebook-page"]
    assert [a.action for a in facebook] == ["revoke_role"]
    assert facebook[0].after is None


def test_sole_admin_without_successor_falls_back_to_break_glass(registry):
    emp = {**employee(registry, "1001"), "successor": None}
    actions = plan_presences(emp, registry, members(registry))
    add = next(a for a in actions if a.action == "add_admin")
    assert add.person == registry.break_glass


def test_shared_login_gets_a_rotation_task(registry):
    actions = plan_presences(employee(registry, "1001"), registry, members(registry))
    rotate = [a for a in actions if a.action == "rotate_credentials"]
    assert [a.presence.id for a in rotate] == ["x-account"]
    assert any("recovery e-mail" in step for step in rotate[0].steps)


def test_personal_identities_are_listed_as_not_touched_and_never_acted_on(registry):
    actions = plan_presences(employee(registry, "1001"), registry, members(registry))
    personal = [a for a in actions if a.action == "personal_not_touched"]
    assert [(a.target, a.outcome) for a in personal] == [("x @laura_mf_viajes", "not_touched")]
    assert not any(a.grant and "laura_mf_viajes" in a.grant.identity for a in actions)


def test_a_presence_not_owned_by_the_company_is_never_acted_on(registry):
    data = {**registry.data, "presences": [{**registry.data["presences"][0], "owner": "personal"}]}
    other = Registry(registry.path, data)
    other.__dict__.pop("presences", None)
    actions = plan_presences(employee(other, "1001"), other, members(other))
    assert [
        (a.action, a.outcome) for a in actions if a.presence is None and a.action != "personal_not_touched"
    ] == []
    assert not [a for a in actions if a.action == "revoke_role"]
    assert [a.outcome for a in actions if a.target == "Acme Comunicación (Facebook Page)"] == ["not_touched"]


def test_unreadable_member_list_becomes_a_manual_check(registry):
    listed = members(registry)
    listed["hootsuite"] = "hootsuite: GET /v1/organizations/1/members: expired token (HTTP 401)"
    actions = plan_presences(employee(registry, "1001"), registry, listed)
    check = next(a for a in actions if a.presence and a.presence.id == "hootsuite")
    assert (check.action, check.outcome) == ("manual_task", "manual")
    assert "expired token" in check.description


def test_matching_is_by_email_case_insensitive_never_by_name(registry):
    emp = employee(registry, "1001")
    by_mail = Grant("p", "m1", emp["email"].upper(), "admin", True)
    by_name = Grant("p", "m2", "Laura Martínez Ferrer", "admin", True, display_name="Laura Martínez Ferrer")
    assert is_leavers(by_mail, emp, registry)
    assert not is_leavers(by_name, emp, registry)


def test_dismissal_revokes_now_resignation_at_end_of_last_day_madrid(registry):
    assert revoke_time(employee(registry, "1001"), registry, NOW) is None
    when = revoke_time(employee(registry, "1002"), registry, NOW)
    assert when is not None and when.isoformat() == "2027-03-31T23:59:00+02:00"
    assert revoke_time(employee(registry, "1002"), registry, NOW, revoke_now=True) is None
    assert revoke_time(employee(registry, "1003"), registry, NOW) is None  # last day already past


def test_resignation_plan_schedules_revocations_but_drafts_notices_now(registry):
    the_plan = full_plan(registry, "1002")
    revocations = [a for a in the_plan.actions if a.phase == "revoke"]
    assert revocations and {a.outcome for a in revocations} == {"scheduled"}
    assert [a for a in the_plan.actions if a.action == "draft_notice"]
    assert all(a.outcome is None for a in the_plan.actions if a.action == "draft_notice")


def test_missing_successor_becomes_a_task_and_clients_meet_the_manager(registry):
    the_plan = full_plan(registry, "1004")
    check = [a for a in the_plan.actions if a.action == "check_record"]
    assert [a.target for a in check] == ["HR record: successor"]
    drafts = [a.draft for a in the_plan.actions if a.action == "draft_notice"]
    assert len(drafts) == 3
    assert all(d.mailbox == "javier.soler@acme-comunicacion.example" for d in drafts)
    assert all("Javier Soler\n" in d.text for d in drafts)  # signed as a person signs, not as the HR record


def test_no_client_contact_sends_internal_notes_to_the_manager_only(registry):
    the_plan = full_plan(registry, "1012")
    drafts = [a.draft for a in the_plan.actions if a.action == "draft_notice"]
    assert len(drafts) == 2  # one per client, not per contact
    assert {d.to_email for d in drafts} == {"carmen.ruiz@acme-comunicacion.example"}
    assert all("interno" in d.subject.lower() for d in drafts)
    client_mails = {"programacion@teatroxativa.example", "liam@surfelsaler.example"}
    assert not any(d.to_email in client_mails for d in drafts)


def test_employee_without_presences_or_clients_has_nothing_to_do(registry):
    the_plan = full_plan(registry, "1003")
    assert [a for a in the_plan.actions if a.phase in ("revoke", "notice")] == []


def test_one_draft_per_contact_in_the_clients_language(registry):
    the_plan = full_plan(registry, "1001")
    drafts = {a.draft.to_email: a.draft for a in the_plan.actions if a.action == "draft_notice"}
    assert len(drafts) == 8
    assert drafts["olivia.hartley@seaviewhotels.example"].language == "en"
    assert drafts["siobhan@kilbeggancoast.example"].language == "en"  # from country IE
    assert drafts["rosa.beltran@miradoraltea.example"].language == "es"


def test_the_reason_for_leaving_never_reaches_a_draft(registry):
    for employee_id in ("1001", "1002", "1004", "1012"):
        reason = employee(registry, employee_id)["termination"]["reason"]
        for action in full_plan(registry, employee_id).actions:
            if action.draft:
                for part in (action.draft.subject, action.draft.text, action.draft.html):
                    assert reason not in part
                    assert "expediente" not in part.lower()


def test_dismissal_notice_never_mentions_a_last_day_resignation_does(registry):
    dismissal = next(a.draft for a in full_plan(registry, "1001").actions if a.draft)
    assert "último día" not in dismissal.text
    assert "ya no forma parte" in dismissal.text


def test_non_solicitation_notice_does_not_invite_contact_with_the_leaver(registry):
    emp = employee(registry, "1002")
    assert emp["restrictions"]["non_solicitation_until"] == "2027-09-30"
    for action in full_plan(registry, "1002").actions:
        if action.draft:
            assert emp["email"] not in action.draft.text
            assert "seguirá atendiéndole" not in action.draft.text
            assert "continue to look after you" not in action.draft.text
