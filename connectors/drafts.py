"""Where approved notices land: always as drafts in a person's mailbox, never sent.

The embedded default writes RFC 5322 `.eml` files (open one in any mail client,
check it, send it yourself). Every implementation is idempotent on the draft key.
"""
from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Draft:
    key: str  # the ledger's action key: one draft per key, ever
    mailbox: str  # whose Drafts folder (successor or manager)
    sender_name: str
    to_name: str
    to_email: str
    subject: str
    text: str
    html: str
    language: str
    cc: tuple[str, ...] = ()
    group: str = ""  # the client id: drafts to one client company are kept together


class DraftStore(Protocol):
    location: str  # where a person finds the drafts, for summaries
    reaches_mailbox: bool  # True when placing a draft puts it in someone's mailbox (needs approval first)
    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        """Store the draft; returns (created, where). created is False when it was already there.

        first_attempt: the ledger has never started this draft, so no earlier call can have
        placed it and a store may skip looking for it (one call instead of two per draft).
        """


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each built once: the stdlib builds a new class per header it sets."""

    @functools.cache
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name.lower())


POLICY = SMTP.clone(header_factory=_HeaderClasses())


def to_message(draft: Draft) -> EmailMessage:
    """The draft as a MIME message (text + HTML alternative, UTF-8 headers)."""
    message = EmailMessage(policy=POLICY)
    message.set_raw("From", address(draft.sender_name, draft.mailbox, "From"))
    message.set_raw("To", address(draft.to_name, draft.to_email, "To"))
    if draft.cc:
        message["Cc"] = ", ".join(draft.cc)
    message.set_raw("Subject", encoded(draft.subject, "Subject"))
    message["Content-Language"] = draft.language
    message["X-Unsent"] = "1"  # Outlook and Apple Mail open it as a draft to review and send
    message["X-Relevo-Key"] = draft.key
    message["Message-ID"] = message_id(draft)
    message.set_content(draft.text, charset="utf-8")
    message.add_alternative(draft.html, subtype="html", charset="utf-8")
    return message


def encoded(text: str, header: str) -> str:
    """A header value folded into RFC 2047 words by the legacy encoder.

    Python 3.11's default folder drops the space between two encoded words when it splits
    a line (an Arabic or Hebrew name loses its spaces); the legacy encoder keeps spaces
    inside the words, and `set_raw` stores its lines as they are.
    """
    if text.isascii():
        return text
    return Header(text, "utf-8", header_name=header).encode(linesep="\r\n")


def address(name: str, email: str, header: str) -> str:
    """`Name <email>`; a non-ASCII name is encoded (see `encoded`) and the address goes on its own line."""
    if name.isascii():
        return formataddr((name, email))
    return f"{encoded(name, header)}\r\n <{email}>"


def message_id(draft: Draft) -> str:
    """A Message-ID derived from the draft key: the same draft always has the same id, so a mailbox
    can be asked whether it already holds it (Gmail `rfc822msgid:`)."""
    digest = hashlib.sha256(draft.key.encode("utf-8")).hexdigest()[:32]
    domain = safe_name(draft.mailbox.rsplit("@", 1)[-1]) or "relevo.local"
    return f"<relevo.{digest}@{domain}>"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "draft"


class EmlDrafts:
    """`.eml` files under `root/<employee>/<client>/`; the file name is derived from the draft key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        self.reaches_mailbox = False  # files on the operator's disk: review copies

    def path_for(self, draft: Draft) -> Path:
        employee, _, rest = draft.key.partition(":")
        folder = self.root / safe_name(employee)
        if draft.group:
            folder = folder / safe_name(draft.group)
        return folder / f"{safe_name(rest)}.eml"

    def discard(self, draft: Draft) -> bool:
        """Remove a review copy that was rejected; True when there was one."""
        target = self.path_for(draft)
        if not target.exists():
            return False
        target.unlink()
        return True

    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        """A file is looked for every time: a review copy may already be there (and looking is free)."""
        target = self.path_for(draft)
        if target.exists():
            return False, str(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".eml.tmp")
        tmp.write_bytes(bytes(to_message(draft)))
        tmp.replace(target)  # atomic: a crash never leaves half a draft under the final name
        return True, str(target)
