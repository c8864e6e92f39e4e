"""E-mail addresses and display names from HR, CRM and registry data: parsed once, where they enter.

That data is untrusted (anyone who can edit an HR record or a CRM contact writes it), and an
address decides where a client notice goes. So a value becomes an address only if it is exactly
one plain addr-spec (`local@domain`): no display name, no second address, no comment, no CR/LF,
no quoted local part, no domain literal. Anything else is a `BadRecord` naming the record and the
field, raised by the connector that read it, before relevo acts on the record.

Headers are built from `email.headerregistry.Address` objects by `header_value`, which also
parses what it built and refuses a header that would not read back as exactly that one address.
"""

from __future__ import annotations

import re
from email.header import Header
from email.headerregistry import Address, HeaderRegistry
from email.utils import quote
from typing import Any

from relevo.connectors.errors import BadRecord

# RFC 5322 dot-atom text for the local part; a host name (labels of letters, digits, hyphens) for the domain.
LOCAL_PART = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
DOMAIN = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"), None
)
MAX_NAME = 450  # quoted and escaped, still one line under the 998-character limit
PLAIN_PHRASE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+( [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$"
)  # atoms only


def parse_email(value: object, where: str) -> str:
    """The one addr-spec in `value` (trimmed), or BadRecord naming `where` (e.g. "employee 1001: work_email").

    The message says what is wrong without echoing the value: it may be long or contain control characters.
    """
    if not isinstance(value, str):
        raise BadRecord(f"{where}: expected an e-mail address, found {type(value).__name__}")
    text = value.strip()
    problem = _problem(text)
    if problem:
        raise BadRecord(f"{where}: {problem}: fix the record, then rerun")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def optional_email(value: object, where: str) -> str | None:
    """`parse_email` for a field that may be empty (None and "" mean no address)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_email(value, where)


def _problem(text: str) -> str | None:
    if not text:
        return "the e-mail address is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "the e-mail address contains a line break or control character"
    if len(text) > 254:
        return "the e-mail address is longer than 254 characters"
    if not text.isascii():
        return "the e-mail address has non-ASCII characters (not supported)"
    if any(c in text for c in ' ,;<>"()[]\\'):
        return "not one plain address (local@domain): it has a space, a comma, brackets or quotes"
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return "not an e-mail address (local@domain)"
    if not LOCAL_PART.match(local) or len(local) > 64:
        return "the part before @ is not a valid mailbox name"
    if not DOMAIN.match(domain):
        return "the part after @ is not a valid domain name"
    return None


def display_name(value: object) -> str:
    """A name as shown next to an address: one line, no control characters, no bidi overrides, at most
    450 characters. Quotes and brackets may stay: `header_value` encodes such a name, it cannot end it.

    A name that contains '@' would look like an address in a mail client: it is dropped (the address alone).
    """
    text = str(value or "").translate(BIDI_CONTROLS)
    text = " ".join("".join(" " if is_control(ch) else ch for ch in text).split())[:MAX_NAME].strip()
    return "" if "@" in text else text


def is_control(ch: str) -> bool:
    """C0 and C1 control characters (CR, LF, TAB, NUL, ...), which have no place in a header."""
    return ord(ch) < 32 or 127 <= ord(ch) < 160


def mailbox(name: object, email: str) -> Address:
    """An Address object for a header. `email` has passed `parse_email` where it entered; it is checked
    again here (cheap) so that no path into a header, a form's answer included, can skip the check."""
    local, _, domain = parse_email(email, "address for a draft").rpartition("@")
    return Address(display_name=display_name(name), username=local, domain=domain)


_PARSER = HeaderRegistry()


def header_value(header: str, addresses: list[Address]) -> str:
    """The raw value of an address header (From, To, Cc) built from Address objects, checked by parsing it back.

    A display name of plain words (atoms) that fits on the line is written as it is; another ASCII one as
    one quoted string (quotes and backslashes escaped) on its own line; a non-ASCII one as RFC 2047 encoded
    words. The address follows on its own line. The message policy (relevo.connectors.drafts.POLICY) never
    refolds these lines: refolding a long quoted name is what let a name read as another address.
    """
    parts = []
    for address in addresses:
        if not address.display_name:
            parts.append(address.addr_spec)
            continue
        name = address.display_name
        if not (PLAIN_PHRASE.match(name) and len(name) < 60):
            name = (
                f'"{quote(name)}"'
                if name.isascii()
                else Header(name, "utf-8", header_name=header).encode(linesep="\r\n")
            )
        parts.append(f"{name}\r\n <{address.addr_spec}>")
    value = ",\r\n ".join(parts)
    # The registry's To/Cc/From class is both a BaseHeader and an AddressHeader, which typeshed cannot express.
    parsed: Any = _PARSER(header, value.replace("\r\n", ""))
    read_back = [a.addr_spec.lower() for a in parsed.addresses]
    if read_back != [a.addr_spec.lower() for a in addresses] or parsed.defects:
        raise ValueError(f"{header}: the header built does not read back as its addresses")  # a bug, not data
    return value
