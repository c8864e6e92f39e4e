"""Where approved notices land: always as drafts in a person's mailbox, never sent.

The embedded default writes RFC 5322 `.eml` files (open one in any mail client,
check it, send it yourself). Every implementation is idempotent on the draft key.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

from relevo.connectors.addresses import header_value, is_control, mailbox
from relevo.connectors.safe_files import inside, safe_component, write_atomic
from relevo.model import Draft


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each built once: the stdlib builds a new class per header it sets."""

    @functools.cache  # noqa: B019  (one instance per process, kept for its life anyway)
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name.lower())


# refold_source="none": headers relevo writes with `set_raw` (addresses, subject) are already folded, and
# are kept exactly as written; the stdlib's refolding of a long quoted display name can split the quotes.
POLICY = SMTP.clone(header_factory=_HeaderClasses(), refold_source="none")


def to_message(draft: Draft, message_id: str | None = None, now: datetime | None = None) -> EmailMessage:
    """The draft as a MIME message (text + HTML alternative, UTF-8 headers), as the client would receive it.

    Addresses are written from Address objects (relevo.connectors.addresses), so data can add no header and no
    recipient. Nothing internal goes in: no relevo key, no HR id (a store keeps its key elsewhere).
    `message_id`: a store that finds its drafts again by Message-ID passes an opaque one; else a random one.
    """
    message = EmailMessage(policy=POLICY)
    message.set_raw("From", header_value("From", [mailbox(draft.sender_name, draft.mailbox)]))
    message.set_raw("To", header_value("To", [mailbox(draft.to_name, draft.to_email)]))
    if draft.cc:
        message.set_raw("Cc", header_value("Cc", [mailbox("", cc) for cc in draft.cc]))
    message.set_raw("Subject", encoded(one_line(draft.subject), "Subject"))
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["X-Unsent"] = "1"  # Outlook and Apple Mail open it as a draft to review and send
    message["Message-ID"] = message_id or make_msgid(domain=draft.mailbox.rpartition("@")[2])
    message.set_content(draft.text, charset="utf-8")
    message.add_alternative(draft.html, subtype="html", charset="utf-8")
    # After the body: making the message multipart moves every Content-* header into its first part.
    message["Content-Language"] = draft.language
    return message


def one_line(text: str) -> str:
    """A header's text on one line: line breaks and other control characters become spaces.

    No-break spaces stay (a French subject has one before its colon): only other whitespace is folded.
    """
    return re.sub(r"[^\S\u00a0\u202f]+", " ", "".join(" " if is_control(ch) else ch for ch in text)).strip()


def encoded(text: str, header: str) -> str:
    """A header value folded into RFC 2047 words by the legacy encoder.

    Python 3.11's default folder drops the space between two encoded words when it splits
    a line (an Arabic or Hebrew name loses its spaces); the legacy encoder keeps spaces
    inside the words, and `set_raw` stores its lines as they are.
    """
    if text.isascii() and len(text) < 900:
        return text
    return Header(text, "utf-8", header_name=header).encode(linesep="\r\n")


def message_id(draft: Draft, secret: bytes) -> str:
    """An opaque Message-ID that is the same for the same draft on this installation.

    A keyed digest of the draft key: a mailbox can be asked whether it already holds the draft
    (Gmail `rfc822msgid:`), while the client who receives it learns nothing from it (not the key,
    not the HR id, and without the secret no guess of them can be checked against it).
    """
    digest = hmac.new(secret, draft.key.encode("utf-8"), hashlib.sha256).hexdigest()[:32]
    domain = draft.mailbox.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


def safe_name(text: str) -> str:
    """A file name from data (never `.`, `..` or a path): see relevo.connectors.safe_files."""
    return safe_component(text, fallback="draft")


class EmlDrafts:
    """`.eml` files under `root/<employee>/<client>/`; the file name is derived from the draft key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        self.reaches_mailbox = False  # files on the operator's disk: review copies

    def path_for(self, draft: Draft) -> Path:
        """The file's path, checked to lie under the drafts folder (ids are data: see relevo.connectors.safe_files)."""
        employee, _, rest = draft.key.partition(":")
        folder = self.root / safe_name(employee)
        if draft.group:
            folder = folder / safe_name(draft.group)
        return inside(self.root, folder / f"{safe_name(rest)}.eml")

    def discard(self, draft: Draft) -> bool:
        """Remove a review copy that was rejected; True when there was one."""
        target = self.path_for(draft)
        if not target.exists() and not target.is_symlink():
            return False
        target.unlink()  # a link is removed itself, never its target
        return True

    def place(self, draft: Draft, *, first_attempt: bool = False) -> tuple[bool, str]:
        """A file is looked for every time: a review copy may already be there (and looking is free).

        The file name is the key (no header carries it); a symlink at that name is not followed.
        """
        target = self.path_for(draft)
        if target.exists() and not target.is_symlink():
            return False, str(target)
        # atomic: a crash never leaves half a draft under the final name
        return True, str(write_atomic(self.root, target, bytes(to_message(draft))))
