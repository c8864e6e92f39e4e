"""One test per wording rule of issue 14: elision, French spacing, locale dates, pt-BR, CH/BE contacts,
informal hand-over notes, unknown languages, greetings, job titles, company templates, HR notes."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from datetime import date

import pytest

from relevo.config.registry import Registry, load_registry
from relevo.model import Client, ConfigurationError, Contact
from relevo.rules import notices, wording
from tests.golden_cases import CASES, NOW, READERS, ROOT, example_registry

AVAILABLE = notices.languages("client_notice")


def draft(
    case: str = "resignation_ahead",
    *,
    contact: Contact,
    client: Client | None = None,
    registry: Registry | None = None,
    employee: dict | None = None,
):
    client = replace(client or Client("C1", "Hotel Mirador", "1001"), contacts=(contact,))
    (action,) = notices.draft_actions(employee or CASES[case], registry or example_registry(), [client], NOW)
    return action


def with_company(registry: Registry, **company) -> Registry:
    data = copy.deepcopy(registry.data)
    data["company"].update(company)
    return Registry(path=registry.path, data=data)


# --- Catalan elision --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Acme Comunicación", "d'Acme Comunicación"),
        ("Hotel Arinsal", "d'Hotel Arinsal"),
        ("Ulldecona SL", "d'Ulldecona SL"),
        ("Òptica Nova", "d'Òptica Nova"),
        ("Bodegas Requena", "de Bodegas Requena"),
        ("Iogurts del Pla", "de Iogurts del Pla"),
        ("Huelva Tours", "de Huelva Tours"),
        ("Hiena Films", "de Hiena Films"),
        ("«Estudi» SL", "d'«Estudi» SL"),
    ],
)
def test_catalan_elides_de_before_a_vowel_sound(name, expected):
    assert wording.of(name, "ca") == expected


@pytest.mark.parametrize("company", ["Acme Comunicación", "Estudi Ona", "Bodegas Requena"])
def test_catalan_notice_elides_the_company_name_and_says_comunicar_li(company):
    registry = with_company(example_registry(), name=company)
    text = draft(contact=READERS["ca"][1], client=READERS["ca"][0], registry=registry).draft.text
    assert f"l'equip {wording.of(company, 'ca')} que porta" in text
    assert f"de {company}" not in text or not wording.VOWEL_START.match(company)
    assert "per comunicar-li" in text and "explicar-li" not in text


def test_catalan_dates_take_the_elided_article_before_1_and_11():
    assert wording.catalan_article("1 d'abril del 2027", "de") == "de l'1 d'abril del 2027"
    assert wording.catalan_article("11 de maig del 2027") == "l'11 de maig del 2027"
    assert wording.catalan_article("2 de maig del 2027", "de") == "del 2 de maig del 2027"
    assert wording.catalan_article("15 de juliol del 2027", "a") == "al 15 de juliol del 2027"
    employee = copy.deepcopy(CASES["resignation_ahead"])
    employee["termination"]["date"] = "2027-03-31"
    text = draft(contact=READERS["ca"][1], client=READERS["ca"][0], employee=employee).draft.text
    assert "A partir de l'1 d'abril del 2027," in text and "el 31 de març del 2027" in text


# --- French typography --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_french_has_non_breaking_spaces_before_high_punctuation(case):
    registry = example_registry("fr") if case == "no_contact" else None
    action = draft(case, contact=READERS["fr"][1], client=READERS["fr"][0], registry=registry)
    for part in (action.draft.subject, action.draft.text):
        assert ":" in part
        for index, char in enumerate(part):
            if char == ":" and part[index + 1 : index + 2] in (" ", "\n", ""):
                assert part[index - 1] == "\u00a0", part[max(0, index - 20) : index + 1]
            if char in ";!?":
                assert part[index - 1] == "\u202f"
    assert "\u00a0" in action.draft.html  # the HTML part shows the same spaces


def test_french_spacing_leaves_addresses_times_and_urls_alone():
    text = "Écrivez à a@b.example ou https://x.example/a:b à 10:30. Voir : ceci ; cela ! vraiment ?"
    assert wording.french_spacing(text) == (
        "Écrivez à a@b.example ou https://x.example/a:b à 10:30. "
        "Voir\u00a0: ceci\u202f; cela\u202f! vraiment\u202f?"
    )


# --- dates in the reader's locale ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "country", "last_day", "takes_over"),
    [
        ("en", "GB", "15 January 2027", "16 January 2027"),
        ("en", "US", "January 15, 2027", "January 16, 2027"),
        ("en", "IE", "15 January 2027", "16 January 2027"),
        ("de", "AT", "15. Jänner 2027", "16. Jänner 2027"),
        ("de", "DE", "15. Januar 2027", "16. Januar 2027"),
        ("de", "CH", "15. Januar 2027", "16. Januar 2027"),
        ("fr", "CH", "15 janvier 2027", "16 janvier 2027"),
        ("pt-BR", "BR", "15 de janeiro de 2027", "16 de janeiro de 2027"),
        ("es", "MX", "15 de enero de 2027", "16 de enero de 2027"),
    ],
)
def test_dates_follow_the_contacts_locale_not_the_bare_language(language, country, last_day, takes_over):
    contact = Contact("Sam Lee", "sam@c.example", language, country=country)
    text = draft(contact=contact).draft.text
    assert last_day in text and takes_over in text


def test_the_first_of_the_month_is_written_as_each_locale_writes_it():
    first = date(2027, 4, 1)
    assert wording.long_date(first, wording.known_locale("fr_FR")) == "1er avril 2027"
    assert wording.long_date(first, wording.known_locale("pt_BR")) == "1º de abril de 2027"
    assert wording.long_date(first, wording.known_locale("pt_PT")) == "1 de abril de 2027"
    assert wording.long_date(first, wording.known_locale("en_GB")) == "1 April 2027"
    assert wording.long_date(date(2027, 4, 11), wording.known_locale("fr_FR")) == "11 avril 2027"


# --- Portuguese: Brazil and Portugal -----------------------------------------------------------------


@pytest.mark.parametrize("case", ["dismissal_now", "resignation_ahead", "interim", "fallback_signer"])
def test_brazilian_clients_read_brazilian_portuguese(case):
    for contact in (
        Contact("Luiz Carvalho", "l@c.example", "pt-BR"),
        Contact("Luiz Carvalho", "l@c.example", "pt-br"),
        Contact("Luiz Carvalho", "l@c.example", "pt", country="BR"),
        Contact("Luiz Carvalho", "l@c.example", None, country="BR"),
    ):
        action = draft(case, contact=contact)
        text = action.draft.text
        assert action.draft.language == "pt-BR"
        assert "equipe" in text and "contato" in text + action.draft.subject
        assert "equipa" not in text and "contacto" not in text and "connosco" not in text


@pytest.mark.parametrize("case", ["dismissal_now", "resignation_ahead", "interim", "fallback_signer"])
def test_portuguese_clients_read_european_portuguese_and_one_voice(case):
    action = draft(case, contact=Contact("Ana Sousa", "a@c.example", None, country="PT"))
    text = action.draft.text
    assert action.draft.language == "pt" and "equipa" in text and "equipe" not in text
    team = CASES[case]["successor"] is None and CASES[case]["manager"] is None
    for subject in ("Agradeço", "Escrevo-lhe", "contactar-me"):  # pt
        assert (subject in text) != team  # a person writes "I" throughout, the team "we" throughout


# --- language choice: contact, client, single-language country, company ------------------------------


@pytest.mark.parametrize(
    ("contact_language", "client_language", "contact_country", "client_country", "expected", "locale"),
    [
        ("fr", None, None, "CH", "fr", "fr_CH"),  # a Geneva contact: French, Swiss dates
        (None, "fr", None, "CH", "fr", "fr_CH"),
        ("de", None, None, "CH", "de", "de_CH"),
        (None, None, None, "CH", "es", "es_ES"),  # Switzerland alone says nothing: the company's language
        (None, None, None, "BE", "es", "es_ES"),
        (None, None, None, "CA", "es", "es_ES"),
        (None, None, None, "LU", "es", "es_ES"),
        (None, None, "FR", "BE", "fr", "fr_FR"),  # the contact's own single-language country decides
        (
            "nl-BE",
            None,
            None,
            "BE",
            "es",
            "es_ES",
        ),  # a language with no template: the company's (with a warning)
        (None, "de", None, "AT", "de", "de_AT"),
        ("en", "de", None, "AT", "en", "en_AT"),  # the contact before the client
        (None, None, None, "IE", "en", "en_IE"),
    ],
)
def test_language_comes_from_the_contact_then_client_then_a_single_language_country(
    contact_language, client_language, contact_country, client_country, expected, locale
):
    contact = Contact("Sam Lee", "sam@c.example", contact_language, country=contact_country)
    client = Client("C1", "X", "1001", language=client_language, country=client_country)
    chosen = wording.audience(contact, client, "es", AVAILABLE)
    assert (chosen.language, str(chosen.locale)) == (expected, locale)


@pytest.mark.parametrize("code", ["it", "xx", "zz-ZZ", "123"])
def test_unknown_language_falls_back_to_the_company_language_with_a_warning(code, caplog):
    registry = with_company(example_registry(), default_language="en")
    with caplog.at_level(logging.WARNING):
        action = draft(contact=Contact("Sam Lee", "sam@c.example", code, country="ES"), registry=registry)
    assert action.draft.language == "en"  # the company's language, not Spanish from the country
    assert any(code in r.getMessage() and "company's language (en)" in r.getMessage() for r in caplog.records)
    assert f"'{code}'" in action.description  # and the operator sees it in the plan and the approval listing


# --- greetings and names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "salutation", "language", "style", "expected"),
    [
        ("Rosa Beltrán Soler", "Sra.", "es", "auto", "Estimada Rosa:"),
        ("Rosa Beltrán Soler", "Sra.", "es", "formal", "Estimada Sra. Beltrán:"),
        ("Vicente Llorca", "Sr.", "es", "auto", "Estimado Vicente:"),
        ("Vicente Llorca", None, "es", "auto", "Hola, Vicente:"),
        ("Dra. Inés Peiró", None, "es", "auto", "Estimada Inés:"),
        ("Dra. Inés Peiró", None, "es", "formal", "Estimada Dra. Peiró:"),
        ("Olivia Hartley", "Ms", "en", "auto", "Dear Olivia,"),
        ("Olivia Hartley", "Ms", "en", "formal", "Dear Ms Hartley,"),
        ("Olivia Hartley", "Ms.", "en-US", "formal", "Dear Ms. Hartley,"),
        ("Olivia Hartley", None, "en", "formal", "Dear Olivia Hartley,"),
        ("Jürgen Weiß", "Herr", "de", "auto", "Sehr geehrter Herr Weiß,"),
        ("Jürgen Weiß", "Mr", "de", "auto", "Sehr geehrter Herr Weiß,"),
        ("Anna Berger", "Dr", "de", "auto", "Guten Tag Anna Berger,"),
        ("Anna Berger", "Frau Dr", "de", "auto", "Sehr geehrte Frau Dr. Berger,"),
        ("Anna Berger", "Frau", "de", "first_name", "Liebe Anna,"),
        ("Élodie Marchand", "Mme", "fr", "auto", "Bonjour Madame Marchand,"),
        ("Élodie Marchand", None, "fr", "auto", "Bonjour Élodie Marchand,"),
        ("Jordi Puigdemunt i Serra", "Sr.", "ca", "formal", "Benvolgut senyor Puigdemunt,"),
        ("Ana Rita Sousa Pereira", "Sra.", "pt", "formal", "Exma. Senhora Ana Pereira,"),
        ("Luiz Carvalho", "Sr.", "pt-BR", "auto", "Prezado Luiz,"),
        ("rosa@hotel.example", None, "es", "auto", "Buenos días:"),  # HubSpot shows the address when no name
        ("rosa@hotel.example", "Frau", "de", "auto", "Guten Tag,"),
    ],
)
def test_greeting_by_salutation_and_style(name, salutation, language, style, expected):
    assert wording.greeting(wording.parse_name(name, salutation=salutation), language, style) == expected


def test_american_formal_greeting_has_the_period():
    registry = example_registry()
    data = copy.deepcopy(registry.data)
    data["notices"]["salutation"] = "formal"
    formal = Registry(path=registry.path, data=data)
    us = Contact("Megan Foster", "m@o.example", "en", country="US", salutation="Ms")
    assert draft(contact=us, registry=formal).draft.text.startswith("Dear Ms. Foster,\n")
    assert draft(contact=READERS["en"][1], registry=formal).draft.text.startswith("Dear Ms Hartley,\n")


def test_greeting_style_comes_from_the_registry():
    registry = example_registry()
    data = copy.deepcopy(registry.data)
    data["notices"]["salutation"] = "formal"
    formal = Registry(path=registry.path, data=data)
    assert draft(contact=READERS["en"][1], registry=formal).draft.text.startswith("Dear Ms Hartley,\n")
    assert draft(contact=READERS["en"][1]).draft.text.startswith("Dear Olivia,\n")


def test_names_read_as_a_person_writes_them():
    assert wording.short_name("Laura Martínez Ferrer", "Laura", "Martínez Ferrer", "es") == "Laura Martínez"
    assert (
        wording.short_name("Ana de la Fuente García", "Ana", "de la Fuente García", "es")
        == "Ana de la Fuente"
    )
    assert wording.short_name("João Pereira da Silva", "João", "Pereira da Silva", "pt") == "João Silva"
    assert (
        wording.short_name("María José Núñez", None, None, "es") == "María José Núñez"
    )  # no split known: as is
    for case in ("dismissal_now", "resignation_ahead", "interim"):
        for client, contact in READERS.values():
            text = draft(case, contact=contact, client=client).draft.text
            assert "Martínez Ferrer" not in text and "Castells Vidal" not in text and "Soler Roig" not in text


# --- job titles ---------------------------------------------------------------------------------------


def test_job_titles_are_kept_for_every_reader_in_their_language_when_known():
    for language, (client, contact) in READERS.items():
        text = draft(contact=contact, client=client).draft.text
        title = (
            example_registry()
            .data["notices"]["job_titles"]["Directora de cuentas adjunta"]
            .get(language, "Directora de cuentas adjunta")
        )
        assert f"\nNuria Castells\n{title}\nAcme Comunicación\n" in text
    employee = copy.deepcopy(CASES["resignation_ahead"])
    employee["successor"]["job_title"] = "Responsable de cuentas clave"  # no translation in the registry
    assert "\nResponsable de cuentas clave\n" in draft(contact=READERS["de"][1], employee=employee).draft.text


# --- the timeline -------------------------------------------------------------------------------------

NOW_WORDS = {
    "es": "A partir de ahora",
    "en": "From now on",
    "ca": "A partir d'ara",
    "pt": "A partir de agora",
    "pt-BR": "A partir de agora",
    "fr": "Dès à présent",
    "de": "Ab sofort",
}


@pytest.mark.parametrize("language", READERS)
def test_no_from_now_on_while_the_leaver_still_looks_after_the_client(language):
    client, contact = READERS[language]
    ahead = draft("resignation_ahead", contact=contact, client=client).draft
    now = draft("dismissal_now", contact=contact, client=client).draft
    assert NOW_WORDS[language].casefold() not in (ahead.subject + ahead.text).casefold()
    assert NOW_WORDS[language] in now.text


@pytest.mark.parametrize("language", READERS)
def test_interim_subject_does_not_announce_a_permanent_contact(language):
    client, contact = READERS[language]
    interim = draft("interim", contact=contact, client=client).draft
    permanent = draft("resignation_ahead", contact=contact, client=client).draft
    assert interim.subject != permanent.subject.replace("Nuria Castells", "Javier Soler")
    words = {
        "es": "provisional",
        "en": "interim",
        "ca": "provisional",
        "pt": "provisório",
        "pt-BR": "provisório",
        "fr": "par intérim",
        "de": "vorübergehend",
    }[language]
    assert words in interim.subject


# --- internal notes -----------------------------------------------------------------------------------

INFORMAL = {
    "es": "te toca a ti",
    "ca": "et correspon a tu",
    "pt": "nas tuas mãos",
    "pt-BR": "fica com você",
    "fr": "te revient",
    "de": "liegt bei dir",
    "en": "in your hands",
}


@pytest.mark.parametrize("language", READERS)
def test_handover_note_is_informal_dated_and_not_signed_relevo(language):
    client, contact = READERS[language]
    note = draft("no_contact", contact=contact, client=client, registry=example_registry(language)).draft
    assert note.to_email == "javier.soler@acme-comunicacion.example" and note.language == language
    assert INFORMAL[language] in note.text
    assert "relevo" not in note.text.casefold() and note.sender_name != "relevo"
    assert "Nuria Castells Vidal" in note.text  # the successor
    for day in (
        date(2027, 1, 15),
        date(2027, 7, 15),
    ):  # the last day and the end of the non-solicitation clause
        assert wording.long_date(day, wording.company_locale(language)) in note.text


def test_hr_note_is_in_the_company_language_with_readable_outcomes():
    rows = [
        {"action": "revoke_role", "target": "facebook_page @acme", "outcome": "done"},
        {"action": "draft_notice", "target": "Hotel <a@b.example>", "outcome": "awaiting_approval"},
    ]
    title, text = notices.hr_note(CASES["dismissal_now"], rows, example_registry("es"))
    assert title == "Informe de baja de Laura Martínez Ferrer (relevo)"
    assert "- Pendiente de aprobación: aviso al cliente, Hotel <a@b.example>" in text
    assert "awaiting_approval" not in text and "draft_notice" not in text
    _, german = notices.hr_note(CASES["dismissal_now"], rows, example_registry("de"))
    assert "- Wartet auf Freigabe: Kundennachricht" in german
    for language in READERS:
        title, text = notices.hr_note(CASES["dismissal_now"], rows, example_registry(language))
        assert "RH-2026-031" not in title + text and "awaiting_approval" not in text


# --- a company's own templates ------------------------------------------------------------------------


def company_registry(tmp_path, templates: dict[str, str]) -> Registry:
    folder = tmp_path / "notice-templates"
    folder.mkdir()
    for name, text in templates.items():
        (folder / name).write_text(text, "utf-8")
    source = (ROOT / "examples" / "acme" / "relevo.yaml").read_text("utf-8")
    target = tmp_path / "relevo.yaml"
    target.write_text(
        source.replace("# templates: notice-templates", "templates: notice-templates")
        .replace("hr.json", str(ROOT / "examples" / "acme" / "hr.json"))
        .replace("clients.json", str(ROOT / "examples" / "acme" / "clients.json")),
        "utf-8",
    )
    return load_registry(target)


def test_a_company_template_replaces_relevos_and_can_add_a_language(tmp_path):
    registry = company_registry(
        tmp_path,
        {
            "client_notice.es.txt.j2": "{{ company }}: cambio de contacto\n{{ greeting }}\n\nTexto de la casa.\n\n{{ contact.name }}\n",
            "client_notice.it.txt.j2": "{{ company }}: nuovo referente\n{{ greeting }}\n\nTesto italiano.\n",
        },
    )
    spanish = draft(contact=READERS["es"][1], registry=registry).draft
    assert spanish.subject == "Acme Comunicación: cambio de contacto"
    assert spanish.text == "Estimada Rosa:\n\nTexto de la casa.\n\nNuria Castells\n"
    italian = draft(contact=Contact("Sam Lee", "s@c.example", "it"), registry=registry).draft
    assert italian.language == "it" and "Testo italiano." in italian.text
    english = draft(contact=READERS["en"][1], registry=registry).draft  # the others stay relevo's
    assert english.text.startswith("Dear Olivia,")


def test_a_broken_company_template_is_a_configuration_error_on_load(tmp_path):
    with pytest.raises(ConfigurationError, match=r"client_notice.es.txt.j2 line 1 does not parse"):
        company_registry(tmp_path, {"client_notice.es.txt.j2": "{% if %}\n"})


def test_a_missing_template_folder_or_a_misnamed_template_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="is not a template relevo uses"):
        company_registry(tmp_path, {"client_notice.txt.j2": "x\n"})
    source = (ROOT / "examples" / "acme" / "relevo.yaml").read_text("utf-8")
    target = tmp_path / "other.yaml"
    target.write_text(source.replace("# templates: notice-templates", "templates: nowhere"), "utf-8")
    with pytest.raises(ConfigurationError, match="notices.templates 'nowhere' is not a folder"):
        load_registry(target)


# --- where the greeting data comes from ---------------------------------------------------------------


def test_directory_export_gives_names_apart_and_contact_greeting_fields():
    from relevo import schemas
    from relevo.connectors.directory import DirectoryCRM, DirectoryHR

    base = ROOT / "examples" / "acme"
    employee = DirectoryHR(base / "hr.json", "es").employee("1014")
    schemas.check(
        "employee", employee, "directory employee 1014"
    )  # the optional name parts are in the schema
    assert (employee["first_name"], employee["last_name"]) == ("Carla", "Puig Serra")
    assert employee["successor"]["first_name"] == "Pablo"
    clients = {c.id: c for c in DirectoryCRM(base / "clients.json", base / "out").clients_of(None, "1014")}
    elodie, urs = clients["C024"].contacts
    assert (elodie.salutation, elodie.first_name, elodie.language, clients["C024"].country) == (
        "Mme",
        "Élodie",
        "fr",
        "CH",
    )
    assert urs.language == "de"
    actions = notices.draft_actions(employee, example_registry(), list(clients.values()), NOW)
    by_email = {a.draft.to_email: a.draft for a in actions}
    assert by_email["elodie.marchand@hotelduleman.example"].text.startswith("Bonjour Madame Marchand,\n")
    assert by_email["urs.brunner@hotelduleman.example"].text.startswith("Sehr geehrter Herr Brunner,\n")
    assert by_email["luiz@mardedentro.example"].language == "pt-BR"
    assert (
        "Carla Puig " in by_email["j.weiss@alpenhof.example"].text
        and "Puig Serra" not in by_email["j.weiss@alpenhof.example"].text
    )


def test_the_team_signs_in_the_plural_with_its_name_in_the_readers_language():
    english = draft("fallback_signer", contact=READERS["en"][1]).draft
    spanish = draft("fallback_signer", contact=READERS["es"][1]).draft
    assert english.sender_name == "Acme Accounts Team" and english.text.endswith(
        "\nAcme Accounts Team\nAcme Comunicación\n"
    )
    assert spanish.sender_name == "Equipo de Cuentas de Acme"
    assert english.text.startswith("Dear Olivia,\n\nWe are writing") and " me " not in english.text
    assert (
        "Le escribimos" in spanish.text and "escribirnos" in spanish.text and "Le escribo" not in spanish.text
    )


def test_swiss_german_writes_ss_for_eszett():
    swiss = draft(
        contact=Contact("Urs Brunner", "u@c.example", "de", country="CH", salutation="Herr")
    ).draft.text
    austrian = draft(contact=READERS["de"][1], client=READERS["de"][0]).draft.text
    assert "Mit freundlichen Grüssen\n" in swiss and "ß" not in swiss
    assert "Mit freundlichen Grüßen\n" in austrian
