"""The embedded default: HR records and clients read from JSON exports on disk.

Any HR system can export this shape, so this is also the fallback for platforms
relevo has no connector for. The files are validated; a broken file is a
ConfigurationError naming the file and the entry, never a traceback.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

from relevo.connectors.addresses import parse_email
from relevo.connectors.errors import BadRecord, NotFound
from relevo.connectors.hr_records import read_each, work_email
from relevo.connectors.safe_files import open_append, safe_component, write_atomic
from relevo.model import Client, ConfigurationError, Contact, Person


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path}: file not found (paths in relevo.yaml are relative to the folder of "
            "relevo.yaml: copy the whole example folder, or fix the path)"
        ) from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


class DirectoryHR:
    """HR records from `{"employees": [...]}` (see examples/acme/hr.json)."""

    writes_markdown = True  # its HR note is a Markdown file: the flow escapes data in it

    def __init__(self, path: Path, default_language: str, today: date | None = None) -> None:
        self.path = path
        self.default_language = default_language
        self.today = today
        self._rows: dict[str, dict[str, Any]] | None = None

    def rows(self) -> dict[str, dict[str, Any]]:
        if self._rows is None:
            data = read_json(self.path)
            if not isinstance(data, dict) or not isinstance(data.get("employees"), list):
                raise ConfigurationError(f"{self.path}: expected an object with an 'employees' list")
            rows: dict[str, dict[str, Any]] = {}
            for index, row in enumerate(data["employees"]):
                if not isinstance(row, dict) or not str(row.get("id", "")).strip():
                    raise ConfigurationError(f"{self.path}: employees[{index}] has no 'id'")
                rows[str(row["id"])] = row
            self._rows = rows
        return self._rows

    def person(self, employee_id: str | None) -> dict[str, Any] | None:
        if not employee_id:
            return None
        row = self.rows().get(str(employee_id))
        if row is None:
            return None
        return {
            "id": str(row["id"]),
            "name": full_name(row),
            **name_parts(row),
            "email": work_email(row.get("work_email"), f"{self.path.name}: employee {row['id']}"),
            "phone": row.get("phone"),
            "job_title": row.get("job_title"),
        }

    def employee(self, employee_id: str) -> dict[str, Any]:
        """The normalized employee object (schemas/employee.schema.json)."""
        row = self.rows().get(str(employee_id))
        if row is None:
            raise NotFound(f"employee {employee_id} is not in {self.path.name}", vendor="directory")
        termination = row.get("termination")
        restrictions = row.get("restrictions") or {}
        return {
            "id": str(row["id"]),
            "name": full_name(row),
            **name_parts(row),
            "email": work_email(row.get("work_email"), f"{self.path.name}: employee {row['id']}"),
            "phone": row.get("phone"),
            "language": row.get("language") or self.default_language,
            "department": row.get("department"),
            "job_title": row.get("job_title"),
            "status": status_of(termination, self.today or date.today()),
            "termination": None
            if not termination
            else {
                "type": termination.get("type") or "unknown",
                "date": termination.get("last_day"),
                "reason": termination.get("reason"),
                "vendor_type": termination.get("type"),
            },
            "manager": self.person(row.get("manager_id")),
            "successor": self.person(row.get("successor_id")),
            "restrictions": {
                "no_client_contact": bool(restrictions.get("no_client_contact", False)),
                "non_solicitation_until": restrictions.get("non_solicitation_until"),
            },
        }

    def employees(self, employee_ids: list[str]) -> dict[str, dict[str, Any] | Exception]:
        """Each requested id -> its employee object, or NotFound for that id alone (a layoff reads many).

        The export is read once (`rows` keeps it); a broken file is no one person's problem:
        its ConfigurationError is raised for the whole batch.
        """
        self.rows()
        return read_each(employee_ids, self.employee)

    def roster(self) -> list[dict[str, str | None]]:
        """Everyone still employed (no termination, or one whose last day is still ahead): id and work e-mail.

        The sweep flags a presence's members that match none of them. An e-mail that is not one
        plain address is left out (None), not an error: it cannot match a member anyway.
        """
        today = self.today or date.today()
        out: list[dict[str, str | None]] = []
        for employee_id, row in self.rows().items():
            if status_of(row.get("termination"), today) == "terminated":
                continue
            email = row.get("work_email")
            out.append(
                {
                    "id": employee_id,
                    "email": email.strip() if isinstance(email, str) and email.strip() else None,
                }
            )
        return out

    def changed_since(self, since: str | None) -> tuple[list[str], str | None]:
        """Every employee id: an export on disk has no change times, so each poll reads it whole.

        Returns the ids and the new cursor (none for a file). Reconciliation then keeps only
        terminations it has not heard of, so reading everyone again is harmless.
        """
        return list(self.rows()), None

    def write_note(self, employee_id: str, title: str, text: str, out_dir: Path) -> str:
        """The HR note: a Markdown file next to the export (a file system has no HR record).

        The id is data: its file name is reduced to a safe one, and the note is written under
        `out_dir/hr-notes` only, never through a link planted there. `text` is already escaped Markdown.
        """
        notes = out_dir / "hr-notes"
        target = write_atomic(
            notes,
            notes / f"{safe_component(str(employee_id), 'employee')}.md",
            f"# {title}\n\n{text}\n".encode(),
        )
        return str(target)


def full_name(row: dict[str, Any]) -> str:
    name = " ".join(str(row.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    return name or str(row.get("display_name") or row.get("id"))


def text(row: dict[str, Any], key: str) -> str | None:
    """An optional text field of an export row; anything but a non-empty string counts as absent."""
    value = row.get(key)
    return value.strip() or None if isinstance(value, str) else None


def name_parts(row: dict[str, Any]) -> dict[str, str]:
    """first_name / last_name when the export has them: notices then say "Laura Martínez", not the
    whole "Laura Martínez Ferrer" a database holds (see flows/rules/notices.py, `short_name`)."""
    return {
        key: str(row[key]).strip() for key in ("first_name", "last_name") if str(row.get(key) or "").strip()
    }


def status_of(termination: dict[str, Any] | None, today: date) -> str:
    if not termination:
        return "active"
    last_day = termination.get("last_day")
    if last_day and date.fromisoformat(last_day) >= today:
        return "terminating"
    return "terminated"


class DirectoryCRM:
    """Clients from `{"clients": [...]}` (see examples/acme/clients.json)."""

    def __init__(self, path: Path, out_dir: Path) -> None:
        self.path = path
        self.out_dir = out_dir

    def clients(self) -> list[Client]:
        """Every client; one whose contact e-mail is not one plain address carries `problem` (see Client)."""
        data = read_json(self.path)
        if not isinstance(data, dict) or not isinstance(data.get("clients"), list):
            raise ConfigurationError(f"{self.path}: expected an object with a 'clients' list")
        out = []
        for index, row in enumerate(data["clients"]):
            try:
                contacts, problem = [], None
                for number, c in enumerate(row.get("contacts", [])):
                    try:
                        email = parse_email(
                            c["email"], f"{self.path.name}: client {row['id']}: contacts[{number}].email"
                        )
                    except BadRecord as exc:
                        problem = problem or str(exc)
                        continue
                    contacts.append(
                        Contact(
                            name=str(c["name"]),
                            email=email,
                            language=c.get("language"),
                            country=text(c, "country"),
                            first_name=text(c, "first_name"),
                            last_name=text(c, "last_name"),
                            salutation=text(c, "salutation"),
                        )
                    )
                out.append(
                    Client(
                        id=str(row["id"]),
                        company=str(row["company"]),
                        owner_id=str(row["owner_id"]),
                        contacts=tuple(contacts),
                        language=row.get("language"),
                        country=row.get("country"),
                        problem=problem,
                    )
                )
            except (KeyError, TypeError, AttributeError) as exc:
                raise ConfigurationError(f"{self.path}: clients[{index}] is missing {exc}") from None
        return out

    def clients_of(self, owner_email: str | None, owner_id: str) -> list[Client]:
        return self.clients_of_many([(owner_email, owner_id)])[owner_id]

    def clients_of_many(self, owners: list[tuple[str | None, str]]) -> dict[str, list[Client]]:
        """Each employee's clients, from one read of the file."""
        everyone = self.clients()
        return {owner_id: [c for c in everyone if c.owner_id == owner_id] for _, owner_id in owners}

    def reassign(self, clients: list[Client], owner_email: str | None, successor: Person) -> str:
        return self.reassign_many([(clients, successor)])[0]

    def reassign_many(self, handovers: list[tuple[list[Client], Person]]) -> list[str]:
        """A file cannot be re-owned in place safely: write the hand-over list for import instead."""
        out = self.out_dir / "crm-reassignments.csv"
        new = not out.exists()
        with open_append(self.out_dir, out) as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["client_id", "company", "old_owner_id", "new_owner_id", "new_owner_email"])
            for clients, successor in handovers:
                for client in clients:
                    writer.writerow(
                        [client.id, client.company, client.owner_id, successor.id or "", successor.email]
                    )
        return [
            f"{len(clients)} client(s) listed for {successor.name} in {out}"
            for clients, successor in handovers
        ]
