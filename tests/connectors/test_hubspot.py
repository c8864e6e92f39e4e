"""HubSpot CRM connector against a `responses` fake with HubSpot's documented payload shapes."""

from __future__ import annotations

import pytest
import responses

from relevo.connectors.errors import AuthenticationError, InvalidResponse, NotFound
from relevo.connectors.hubspot import HubSpotCRM, PartialFailure
from relevo.model import Person
from tests.connectors.hubspot_contract import check_exchange
from tests.connectors.hubspot_fake import BASE, FakeHubSpot

TOKEN = "pat-eu1-canary-0000-secret"
LEAVER = "laura.martinez@acme-comunicacion.example"
SUCCESSOR = Person("Nuria Castells Vidal", "nuria.castells@acme-comunicacion.example", "1005")


@pytest.fixture
def hub():
    """The fake; afterwards every request and answer is checked against HubSpot's 2026-09 contract."""
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, {LEAVER: "41629001", SUCCESSOR.email: "41629005"})
        yield mock, fake
    for call in mock.calls:
        check_exchange(call.request, call.response)


def crm(sleeps: list[float] | None = None) -> HubSpotCRM:
    return HubSpotCRM(TOKEN, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def test_clients_with_all_contacts_and_languages(hub):
    mock, fake = hub
    fake.add_company("9001", "Hotel Mirador de Altea", "41629001", "Spain")
    fake.add_company("9002", "Seaview Hotels Ltd", "41629001", "GB")
    fake.add_company("9003", "Someone else's client", "41629777", "ES")
    fake.add_contact(
        "501", "Rosa", "Beltrán", "rosa@mirador.example", "41629777", "9001"
    )  # not owned, at owned company
    fake.add_contact(
        "502", "James", "O'Connor", "j.oconnor@seaview.example", "41629001", "9002", language="en"
    )
    fake.add_contact(
        "503",
        "Élodie",
        "Marchand",
        "elodie@lyon.example",
        "41629001",
        None,
        country="France",
        company_name="Traiteur Marchand",
    )  # owned, no company
    fake.add_contact("504", "No", "Mail", None, "41629001", "9001")
    fake.add_contact("505", "Other", "Person", "other@x.example", "41629777", "9003")
    clients = {c.id: c for c in crm().clients_of(LEAVER, "1001")}
    assert set(clients) == {"9001", "9002", "contact-503"}
    assert [p.email for p in clients["9001"].contacts] == ["rosa@mirador.example"]
    assert clients["9001"].country == "ES"
    assert clients["9001"].crm_ids == {
        "companies": ["9001"],
        "contacts": ["504"],
    }  # only what the leaver owns
    assert clients["contact-503"].company == "Traiteur Marchand"
    assert clients["contact-503"].contacts[0].language == "fr"  # from the contact's country
    assert clients["contact-503"].crm_ids == {"companies": [], "contacts": ["503"]}
    assert clients["9002"].contacts[0].language == "en"
    owner_call = next(c for c in mock.calls if "/owners" in c.request.url)
    assert "email=laura.martinez%40acme-comunicacion.example" in owner_call.request.url
    assert owner_call.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_contact_greeting_fields_and_a_multilingual_country_never_decide_the_language(hub):
    """salutation, firstname, lastname and country feed the notice's greeting and locale; Switzerland
    alone gives no language (a Geneva contact reads French, a Zurich one German)."""
    mock, fake = hub
    fake.add_company("9010", "Hôtel du Léman SA", "41629001", "Switzerland")
    fake.add_contact(
        "601", "Élodie", "Marchand", "elodie@leman.example", "41629001", "9010", salutation="Mme"
    )
    fake.add_contact(
        "602", "Urs", "Brunner", "urs@leman.example", "41629001", "9010", language="de", country="CH"
    )
    fake.add_contact(
        "603",
        "Luiz",
        "Carvalho",
        "luiz@pousada.example",
        "41629001",
        None,
        country="Brazil",
        company_name="Pousada Mar de Dentro",
    )
    clients = {c.id: c for c in crm().clients_of(LEAVER, "1001")}
    elodie, urs = clients["9010"].contacts
    assert (elodie.first_name, elodie.last_name, elodie.salutation, elodie.language) == (
        "Élodie",
        "Marchand",
        "Mme",
        None,
    )
    assert clients["9010"].country == "CH"
    assert (urs.language, urs.country, urs.salutation) == ("de", "CH", None)
    luiz = clients["contact-603"].contacts[0]
    assert (luiz.language, luiz.country) == ("pt", "BR")  # Brazil has one language; the locale makes it pt-BR
    search = next(s for s in fake.searches if "email" in s["properties"])
    assert "salutation" in search["properties"]


def test_pages_through_every_result_by_id(hub):
    mock, fake = hub
    for i in range(450):
        fake.add_company(str(10000 + i), f"Company {i}", "41629001")
    client = crm()
    clients = client.clients_of(LEAVER, "1001")
    assert len(clients) == 450
    company_searches = [s for s in fake.searches if s["properties"][0] == "name"]
    assert [s.get("after") for s in company_searches] == [None, None, None]  # never `after`: ids instead
    assert [
        [f for f in s["filterGroups"][0]["filters"] if f["operator"] == "GT"] for s in company_searches
    ] == [
        [],
        [{"propertyName": "hs_object_id", "operator": "GT", "value": "10199"}],
        [{"propertyName": "hs_object_id", "operator": "GT", "value": "10399"}],
    ]
    # 450 company ids: 5 IN groups of 100 do not fit with the owner group, so two contact searches
    contact_searches = [s for s in fake.searches if "email" in s["properties"]]
    assert [len(s["filterGroups"]) for s in contact_searches] == [5, 1]
    assert client.http.calls == 1 + 3 + 2


def test_unknown_leaver_owns_nothing(hub):
    assert crm().clients_of("nobody@acme.example", "9999") == []


def test_reassign_in_batches_of_100_to_successor_owner_id(hub):
    mock, fake = hub
    for i in range(230):
        fake.add_company(str(20000 + i), f"C{i}", "41629001")
    for i in range(120):
        fake.add_contact(str(30000 + i), "A", str(i), f"a{i}@x.example", "41629001", str(20000 + i % 230))
    client = crm()
    clients = client.clients_of(LEAVER, "1001")
    detail = client.reassign(clients, LEAVER, SUCCESSOR)
    assert [(o, len(i)) for o, i in fake.updates] == [
        ("companies", 100),
        ("companies", 100),
        ("companies", 30),
        ("contacts", 100),
        ("contacts", 20),
    ]
    assert {i["properties"]["hubspot_owner_id"] for _, batch in fake.updates for i in batch} == {"41629005"}
    assert all(c["hubspot_owner_id"] == "41629005" for c in fake.companies.values())
    assert "230 companies and 120 contact(s)" in detail and "41629005" in detail


def test_reassign_to_someone_not_in_hubspot_is_a_clear_error(hub):
    with pytest.raises(NotFound, match="not a HubSpot owner"):
        crm().reassign([], LEAVER, Person("New Person", "new@acme.example"))


def test_429_with_retry_after_is_retried_even_for_search():
    sleeps: list[float] = []
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            f"{BASE}/crm/objects/2026-09/companies/search",
            status=429,
            headers={"Retry-After": "2"},
            json={
                "status": "error",
                "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT",
                "correlationId": "c0ffee00-1111",
                "policyName": "SECONDLY",
            },
        )
        mock.add(
            responses.POST, f"{BASE}/crm/objects/2026-09/companies/search", json={"total": 0, "results": []}
        )
        results = list(crm(sleeps).search("companies", [], ["name"]))
    assert results == [] and sleeps == [2.0]


def test_pauses_when_the_rate_limit_window_is_spent(hub):
    mock, fake = hub
    fake.headers = {
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": "0",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
    }
    sleeps: list[float] = []
    crm(sleeps).owner_id(LEAVER)
    assert sleeps == [10.0]
    fake.headers["X-HubSpot-RateLimit-Remaining"] = "57"
    sleeps.clear()
    crm(sleeps).owner_id(LEAVER)
    assert sleeps == []


def test_token_never_in_errors():
    with responses.RequestsMock() as mock:
        mock.add(
            responses.GET,
            f"{BASE}/crm/owners/2026-09",
            status=401,
            json={
                "status": "error",
                "message": f"Authentication credentials not found: {TOKEN}",
                "correlationId": "abc-123",
                "category": "INVALID_AUTHENTICATION",
            },
        )
        with pytest.raises(AuthenticationError) as err:
            crm().owner_id(LEAVER)
    assert TOKEN not in str(err.value) and "abc-123" in str(err.value)


def test_registry_builds_hubspot_from_env(acme, monkeypatch):
    from relevo.config.registry import load_registry

    text = acme.read_text().replace(
        "crm: {connector: directory, path: clients.json}",
        "crm: {connector: hubspot, token: {env: HUBSPOT_TOKEN}, base_url: 'http://127.0.0.1:9/'}",
    )
    acme.write_text(text)
    monkeypatch.delenv("HUBSPOT_TOKEN", raising=False)
    from relevo.model import ConfigurationError

    with pytest.raises(ConfigurationError, match="HUBSPOT_TOKEN is not set"):
        load_registry(acme).crm()
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    assert type(load_registry(acme).crm()).__name__ == "HubSpotCRM"


def test_a_layoff_reads_and_hands_over_everyone_in_shared_calls():
    """150 leavers: the owner list read once, one search per object type (plus pages), batch updates of 100
    mixing successors; every leaver gets exactly what a read of their own would give."""
    leavers = {f"leaver{i}@acme.example": f"5000{i:03d}" for i in range(150)}
    successors = {"s1@acme.example": "41629901", "s2@acme.example": "41629902"}
    with responses.RequestsMock() as mock:
        fake = FakeHubSpot(mock, leavers | successors | {"stays@acme.example": "41629777"})
        for i, owner in enumerate(leavers.values()):
            fake.add_company(f"9{i:03d}", f"Client {i}", owner, "ES")
            fake.add_contact(
                f"7{i:03d}", "Ana", f"Client{i}", f"ana{i}@client.example", "41629777", f"9{i:03d}"
            )
        fake.add_contact("6999", "Own", "Contact", "own@else.example", leavers["leaver7@acme.example"], None)
        people = [(email, f"E{i}") for i, email in enumerate(leavers)]
        client = crm()
        batch = client.clients_of_many(people)
        owner_calls = [c for c in mock.calls if "/owners" in c.request.url]
        assert len(owner_calls) == 2 and all("email=" not in c.request.url for c in owner_calls)  # 153 owners
        assert len(fake.searches) == 2  # companies, then contacts: 150 owners + 150 companies in 5 groups
        assert {c.id for c in batch["E7"]} == {"9007", "contact-6999"}
        assert batch["E3"] == crm().clients_of("leaver3@acme.example", "E3")  # the same as one person's read
        handovers = [
            (batch[f"E{i}"], Person("S", "s1@acme.example" if i % 2 else "s2@acme.example"))
            for i in range(150)
        ]
        calls_before = len(mock.calls)
        lines = client.reassign_many(handovers)
        assert len(mock.calls) - calls_before == 2 + 1  # 150 companies in 2 calls, 1 owned contact in 1
        assert lines[7].startswith("1 company and 1 contact(s) now owned by S (HubSpot owner 41629901)")
    assert fake.companies["9007"]["hubspot_owner_id"] == "41629901"
    assert fake.companies["9008"]["hubspot_owner_id"] == "41629902"
    assert fake.contacts["7007"]["hubspot_owner_id"] == "41629777"  # not the leaver's: left alone


def test_more_than_10000_owned_records_are_all_read(hub):
    """HubSpot answers 400 to a search page past its first 10,000 results (the fake does too)."""
    mock, fake = hub
    for i in range(10_250):
        fake.add_company(str(20_000 + i), f"Company {i}", "41629001")
    clients = crm().clients_of(LEAVER, "1001")
    assert len(clients) == 10_250
    assert all(status == 200 for _, status, _ in fake.answers)


def test_a_207_batch_update_is_a_partial_failure_naming_the_records_left(hub):
    """batch/update answers 207 with `errors` (context.ids) when some records were not changed: not a success."""
    mock, fake = hub
    for cid in ("9001", "9002", "9003"):
        fake.add_company(cid, f"Client {cid}", "41629001")
    fake.failing = {"9002"}
    clients = crm().clients_of(LEAVER, "1001")
    with pytest.raises(PartialFailure) as err:
        crm().reassign(clients, LEAVER, SUCCESSOR)
    assert err.value.failed == ["companies 9002"]
    assert "9002" in str(err.value) and "9001" not in str(err.value) and "VALIDATION_ERROR" in str(err.value)
    assert fake.companies["9001"]["hubspot_owner_id"] == "41629005"  # the others were handed over
    assert fake.companies["9002"]["hubspot_owner_id"] == "41629001"


def test_doctor_check_reads_owners_companies_and_contacts(hub):
    findings = crm().check()
    assert [f.level for f in findings] == ["ok"] * 4
    _, fake = hub
    assert [r.url.split("/crm/")[1].split("?")[0] for r in fake.requests] == [
        "owners/2026-09",
        "objects/2026-09/companies/search",
        "objects/2026-09/contacts/search",
    ]


def test_a_search_over_many_pages_yields_every_record_exactly_once(hub):
    mock, fake = hub
    for i in range(450):
        fake.add_company(str(30_000 + i), f"Company {i}", "41629001")
    group = [{"filters": [{"propertyName": "hubspot_owner_id", "operator": "IN", "values": ["41629001"]}]}]
    ids = [record["id"] for record in crm().search("companies", group, ["name"])]
    assert sorted(ids) == [str(30_000 + i) for i in range(450)] and len(fake.searches) == 3


def test_a_search_that_ignores_the_id_filter_is_a_typed_error_not_an_endless_loop():
    """HubSpot answering the same page (same last id, a `paging.next`) to the next search is refused."""
    record = {
        "id": "501",
        "properties": {"name": "Grupo Tierra", "hs_object_id": "501"},
        "createdAt": "2026-01-05T10:00:00Z",
        "updatedAt": "2026-11-02T09:00:00Z",
        "archived": False,
    }
    page = {"total": 300, "results": [record], "paging": {"next": {"after": "1", "link": "?after=1"}}}
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, f"{BASE}/crm/objects/2026-09/companies/search", json=page)
        client = crm()
        with pytest.raises(InvalidResponse, match="repeated cursor '501'"):
            list(client.search("companies", [{"filters": []}], ["name"]))
        assert client.http.calls == 2
    for call in mock.calls:
        check_exchange(call.request, call.response)
