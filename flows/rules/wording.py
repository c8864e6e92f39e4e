"""The small language rules a native reader notices: which language and locale, how to greet, how
to name people, how dates and punctuation are written. Pure functions, no Prefect, no I/O.

Kept apart from `notices.py` (who is introduced, when) so each rule has a short test and a company
template can use the same pieces (`greeting`, `short_name`, the date phrases) or ignore them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from relevo.model import Client, Contact, country_language

# Salutation styles a registry can choose (notices.salutation); "auto" is each language's business custom.
STYLES = ("auto", "first_name", "formal")
# Languages whose business letters greet by first name by default; the others (fr, de) use title and surname.
FIRST_NAME_BY_DEFAULT = {"es", "en", "ca", "pt"}
# Where a language is written with a region of its own (a template `pt-BR` next to `pt`), and the region
# a bare language tag is read as when nothing else says (the company's clients are European by default).
DEFAULT_REGION = {"en": "GB", "pt": "PT", "es": "ES", "ca": "ES", "fr": "FR", "de": "DE"}

# Titles as CRMs hold them (HubSpot `salutation`, a "Dra." typed before the name), in the languages we write:
# title (lower-case, no final dot) -> (grammatical gender or None, is a doctor).
TITLES: dict[str, tuple[str | None, bool]] = {
    **dict.fromkeys(
        [
            "ms",
            "mrs",
            "miss",
            "sra",
            "srta",
            "sr.ª",
            "sra.ª",
            "d.ª",
            "dª",
            "doña",
            "dona",
            "frau",
            "mme",
            "madame",
            "mlle",
            "mademoiselle",
            "senhora",
            "senyora",
            "fr",
        ],
        ("f", False),
    ),
    **dict.fromkeys(
        ["mr", "sr", "don", "d", "herr", "m", "monsieur", "senhor", "senyor", "hr"], ("m", False)
    ),
    **dict.fromkeys(["dra", "dr.ª", "doctora", "doutora", "frau dr"], ("f", True)),
    **dict.fromkeys(["doctor", "doutor", "herr dr"], ("m", True)),
    **dict.fromkeys(["dr", "prof", "professor"], (None, True)),
    **dict.fromkeys(["mx"], (None, False)),
}
# Name particles that belong to the surname that follows them ("de la Fuente", "van der Berg").
PARTICLES = {
    "de",
    "del",
    "la",
    "las",
    "los",
    "da",
    "das",
    "do",
    "dos",
    "di",
    "van",
    "von",
    "der",
    "den",
    "le",
    "du",
    "i",
    "y",
    "e",
}


@dataclass(frozen=True)
class Audience:
    """How one contact is written to: the template's language, the babel locale for dates, and why."""

    language: str  # the template tag: "es", "pt-BR"
    locale: Locale
    warning: str | None = None  # an unknown language code, said once in the run


def normalise_tag(tag: str | None) -> tuple[str, str | None] | None:
    """("pt", "BR") from "pt-br", "pt_BR" or "PT-BR"; None when it is not a language tag at all."""
    parts = re.split(r"[-_]", (tag or "").strip())
    if not parts or not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        return None
    region = next((p.upper() for p in parts[1:] if re.fullmatch(r"[A-Za-z]{2}", p)), None)
    return parts[0].lower(), region


def audience(
    contact: Contact, client: Client, company_language: str, available: frozenset[str] | set[str]
) -> Audience:
    """The contact's language first, then the client's, then a single-language country's, then the company's.

    A country with several languages (CH, BE, CA, LU) never decides alone. A language with no template
    ("it", "xx") is not guessed around: the company's language is used and the run says so.
    """
    bases = {tag.split("-")[0] for tag in available}
    countries = [c.strip().upper() for c in (contact.country, client.country) if c and c.strip()]
    warning = None
    chosen: tuple[str, str | None] | None = None
    for source, tag in (("contact", contact.language), ("client", client.language)):
        if not tag:
            continue
        parsed = normalise_tag(tag)
        if parsed and parsed[0] in bases:
            chosen = parsed
        else:
            warning = (
                f"{source} language {tag!r} of {contact.email} has no notice template "
                f"(have {', '.join(sorted(available))}): written in the company's language ({company_language})"
            )
        break
    if chosen is None and warning is None:
        for country in countries:
            if (language := country_language(country)) in bases:
                chosen = (language, None)
                break
    if chosen is None:
        chosen = normalise_tag(company_language) or ("en", None)
    language, region = chosen
    if region is None:  # the region of the contact's or client's country, if the language is spoken there
        region = next((c for c in countries if known_locale(f"{language}_{c}")), None)
    region = region or DEFAULT_REGION.get(language)
    template = f"{language}-{region}" if f"{language}-{region}" in available else language
    if template not in available:
        template = sorted(available)[0] if available else language
    locale = known_locale(f"{language}_{region}") or known_locale(language) or Locale.parse("en")
    return Audience(language=template, locale=locale, warning=warning)


def company_locale(tag: str) -> Locale:
    """The locale of the company's own language ("en" alone reads as en-GB for a European company)."""
    parsed = normalise_tag(tag) or ("en", None)
    region = parsed[1] or DEFAULT_REGION.get(parsed[0])
    return known_locale(f"{parsed[0]}_{region}") or known_locale(parsed[0]) or Locale.parse("en")


@cache
def known_locale(name: str) -> Locale | None:
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return None


# --- dates -------------------------------------------------------------------------------------------


@cache  # a batch formats the same two days in a handful of locales
def long_date(day: date, locale: Locale) -> str:
    """The day as the reader's locale writes it: "1 April 2027" (en-GB), "April 1, 2027" (en-US),
    "1. Jänner" (de-AT), "1er avril 2027" (fr), "1º de abril de 2027" (pt-BR)."""
    text = format_date(day, format="long", locale=locale)
    if day.day == 1 and locale.language == "fr":
        text = re.sub(r"^1(?=\s)", "1er", text)
    elif day.day == 1 and locale.language == "pt" and locale.territory == "BR":
        text = re.sub(r"^1(?=\s)", "1º", text)
    if locale.language in ("ca", "fr"):
        text = text.replace("\u2019", "'")  # the templates write the straight apostrophe: one kind in a text
    return text


def catalan_article(text: str, preposition: str = "") -> str:
    """ "el 31 de març", "l'1 d'abril", "del 2 de maig", "de l'11 de juny": Catalan elides the article
    before 1 and 11 (read "u", "onze")."""
    elided = bool(re.match(r"^(1|11)\D", text))
    if preposition == "de":
        return f"de l'{text}" if elided else f"del {text}"
    if preposition == "a":
        return f"a l'{text}" if elided else f"al {text}"
    return f"l'{text}" if elided else f"el {text}"


# --- names ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """A person as a letter names them."""

    full: str
    given: str
    family: str
    gender: str | None  # "f", "m" or None (unknown: every greeting then has a neutral form)
    doctor: bool


def title_key(word: str) -> str:
    return word.strip().rstrip(".").casefold()


def parse_name(
    full: str, first: str | None = None, last: str | None = None, salutation: str | None = None
) -> Name:
    """Split a CRM name into given name and surname; a title typed in front ("Dra. Inés Peiró") is read as one."""
    words = full.split()
    gender, doctor = TITLES.get(title_key(salutation), (None, False)) if salutation else (None, False)
    while len(words) > 1 and title_key(words[0]) in TITLES:  # "Dra." "Sr." "Mr" before the name
        g, d = TITLES[title_key(words.pop(0))]
        gender, doctor = gender or g, doctor or d
    given = (first or "").strip() or (words[0] if words else full)
    family = (last or "").strip() or " ".join(words[1:])
    shown = " ".join(p for p in (given, family) if p) or full
    return Name(full=shown, given=given, family=family, gender=gender, doctor=doctor)


def surnames(family: str) -> list[str]:
    """ "Martínez Ferrer" -> ["Martínez", "Ferrer"]; "de la Fuente García" -> ["de la Fuente", "García"]."""
    out: list[str] = []
    pending: list[str] = []
    for word in family.split():
        pending.append(word)
        if word.casefold() not in PARTICLES:
            out.append(" ".join(pending))
            pending = []
    if pending:
        if out:
            out[-1] += " " + " ".join(pending)
        else:
            out.append(" ".join(pending))
    return out


def surname(name: Name, custom: str) -> str:
    """The surname a letter uses: Spanish and Catalan the first of two ("Sra. Beltrán" for Beltrán Soler),
    Portuguese the last ("Sr. Silva" for Pereira da Silva), other languages the whole surname."""
    parts = surnames(name.family)
    if not parts:
        return name.given
    if custom in ("es", "ca"):
        return parts[0]
    if custom == "pt":
        return parts[-1].split()[-1] if len(parts) > 1 else parts[0]
    return name.family


def short_name(full: str, first: str | None, last: str | None, custom: str) -> str:
    """How a colleague is named to a client: "Laura Martínez", not the "Laura Martínez Ferrer" of the HR record.

    Two surnames are the Iberian custom: the first is the one used in Spanish and Catalan, the last in
    Portuguese (custom = the company's language). Only when the HR system gives the surname apart; a single
    `name` is shown as it is (we cannot know where a "María José Núñez" splits).
    """
    if not (first and last):
        return full
    name = parse_name(full, first, last)
    return f"{name.given} {surname(name, 'pt' if custom == 'pt' else 'es')}"


# --- greetings ---------------------------------------------------------------------------------------


def greeting(name: Name, language: str, style: str, locale: str = "") -> str:
    """The salutation line, punctuation included ("Estimada Rosa:", "Dear Ms Hartley,", "Sehr geehrter Herr Weiß,").

    style "auto" greets by first name where business custom does (es, en, ca, pt) and by title and surname
    elsewhere (fr, de). Without a known gender the neutral form of each language is used, never a guess.
    """
    base = language.split("-")[0]
    brazil = language == "pt-BR"
    if not name.given or "@" in name.given:  # a CRM with no name shows the address: greet without one
        return NAMELESS.get(language) or NAMELESS.get(base) or "Hello,"
    formal = style == "formal" or (style == "auto" and base not in FIRST_NAME_BY_DEFAULT)
    if not name.family:
        formal = False  # a single word: nothing to build a formal greeting on
    g, dr = name.gender, name.doctor
    last = surname(name, base)
    if base == "es":
        if not formal:
            return {"f": f"Estimada {name.given}:", "m": f"Estimado {name.given}:"}.get(
                g or "", f"Hola, {name.given}:"
            )
        title = {"f": "Dra." if dr else "Sra.", "m": "Dr." if dr else "Sr."}.get(g or "")
        return f"Estimad{'a' if g == 'f' else 'o'} {title} {last}:" if title else f"Buenos días, {name.full}:"
    if base == "ca":
        if not formal:
            return {"f": f"Benvolguda {name.given},", "m": f"Benvolgut {name.given},"}.get(
                g or "", f"Bon dia, {name.given},"
            )
        title = {"f": "doctora" if dr else "senyora", "m": "doctor" if dr else "senyor"}.get(g or "")
        return f"Benvolgu{'da' if g == 'f' else 't'} {title} {last}," if title else f"Bon dia, {name.full},"
    if base == "pt" and brazil:
        if not formal:
            return {"f": f"Prezada {name.given},", "m": f"Prezado {name.given},"}.get(
                g or "", f"Olá, {name.given},"
            )
        title = {"f": "Dra." if dr else "Sra.", "m": "Dr." if dr else "Sr."}.get(g or "")
        return f"Prezad{'a' if g == 'f' else 'o'} {title} {last}," if title else f"Olá, {name.full},"
    if base == "pt":
        if not formal:
            return {"f": f"Cara {name.given},", "m": f"Caro {name.given},"}.get(
                g or "", f"Bom dia, {name.given},"
            )
        if g == "f":
            return f"Exma. Senhora {'Dra. ' if dr else ''}{name.given} {last},"
        if g == "m":
            return f"Exmo. Senhor {'Dr. ' if dr else ''}{name.given} {last},"
        return f"Bom dia, {name.full},"
    if base == "fr":
        if not formal:
            return f"Bonjour {name.given},"
        title = {"f": "Madame", "m": "Monsieur"}.get(g or "")
        return f"Bonjour {title} {last}," if title else f"Bonjour {name.full},"
    if base == "de":
        if not formal:
            return {"f": f"Liebe {name.given},", "m": f"Lieber {name.given},"}.get(
                g or "", f"Hallo {name.given},"
            )
        if g in ("f", "m"):
            return f"Sehr geehrte{'r Herr' if g == 'm' else ' Frau'} {'Dr. ' if dr else ''}{last},"
        return f"Guten Tag {name.full},"
    # English, and the shape any other language falls back to
    if not formal:
        return f"Dear {name.given},"
    dot = (
        "." if "en-US" in (language, locale.replace("_", "-")) else ""
    )  # American "Ms." and "Dr."; British "Ms", "Dr"
    title = "Dr" if dr else {"f": "Ms", "m": "Mr"}.get(g or "")
    return f"Dear {title}{dot} {last}," if title else f"Dear {name.full},"


NAMELESS = {
    "es": "Buenos días:",
    "en": "Hello,",
    "ca": "Bon dia,",
    "pt": "Bom dia,",
    "pt-BR": "Olá,",
    "fr": "Bonjour,",
    "de": "Guten Tag,",
}


# --- typography ----------------------------------------------------------------------------------------

VOWEL_START = re.compile(r"^(?:h?[aeiouàáâäèéêëìíîïòóôöùúûü])", re.IGNORECASE)
SEMIVOWEL_START = re.compile(r"^(?:h?[iu][aeiouàáèéíòóú])", re.IGNORECASE)


def of(name: str, language: str) -> str:
    """ "de" + a name, elided where the language requires it: Catalan "d'Acme", "d'Hotel Mirador"
    (vowel or h + vowel) but "de Iogurts" / "de Huelva" (i, u before a vowel are consonants);
    French "d'Acme" before a vowel (an h is left alone: "de Hachette" and "d'Hermès" both exist)."""
    base = language.split("-")[0]
    bare = unicodedata.normalize("NFC", name.lstrip("«\"'“ "))
    if base == "ca" and VOWEL_START.match(bare) and not SEMIVOWEL_START.match(bare):
        return f"d'{name}"
    if base == "fr" and re.match(r"^[aeiouyàâäéèêëîïôöùûü]", bare, re.IGNORECASE):
        return f"d'{name}"
    return f"de {name}"


def french_spacing(text: str) -> str:
    """French typography: a non-breaking space before ":" and guillemets' inner sides, a narrow one
    before ";", "!" and "?" (Imprimerie nationale). Applied to the rendered text, so data gets it too;
    URLs, e-mail addresses and times ("10:30") have no space before their colon and are left alone."""
    text = re.sub(r"[ \u00a0\u202f]*:(?=\s|$)", lambda m: "\u00a0:", text)
    text = re.sub(r"(?<=\S)[ \u00a0\u202f]+([;!?])", "\u202f\\1", text)
    text = re.sub(r"«[ \u00a0]*", "«\u00a0", text)
    return re.sub(r"[ \u00a0]*»", "\u00a0»", text)
