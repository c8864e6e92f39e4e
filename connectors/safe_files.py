"""Files named after HR and CRM data, written only where they belong.

An employee id or a client id comes from data anyone with HR or CRM access can edit: `..` or
`../../x` as an id must not place a draft or a note outside its folder, and a symlink planted in
the output folder must not redirect a write to somewhere else. So every name built from data is
reduced to one safe path component, every path is checked to resolve under its folder, and files
are created without following a symlink at the final name (O_NOFOLLOW; a replace swaps the link
itself, never its target).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import IO

from relevo.connectors.errors import BadRecord

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # every POSIX system; Windows has no symlinks to plant this way


def safe_component(text: str, fallback: str = "item") -> str:
    """One path component from any text: letters, digits, `._-`; never empty, `.`, `..` or hidden.

    Kept readable (`notice:C001:a@b.example` -> `notice_C001_a_b.example`, as before). A value with
    nothing usable left (`..`, `/`) gets its fallback and a digest of the text, so two such values
    never share a name.
    """
    name = UNSAFE.sub("_", text).strip("_")[:120].lstrip(".")
    if name.strip("._-"):
        return name
    return f"{fallback}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def inside(root: Path, path: Path) -> Path:
    """`path`, once its folder is resolved (symlinks followed), if it lies under `root`; else BadRecord.

    The final name itself is not resolved: writers below never follow a link there.
    """
    base = root.resolve()
    folder = path.parent.resolve()
    if folder != base and base not in folder.parents:
        raise BadRecord(
            f"refusing to write {path.name}: its folder resolves outside {base} "
            "(a symbolic link in the output folder?): remove the link, then rerun"
        )
    return folder / path.name


def write_atomic(root: Path, path: Path, data: bytes) -> Path:
    """Create or replace `path` (under `root`) with `data`: written to a temporary name, then renamed.

    A crash never leaves half a file under the final name; a symlink at either name is replaced,
    not followed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    target = inside(root, path)
    tmp = target.with_name(target.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # a leftover of a crash, or a planted link: unlink removes the link itself
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
    return target


def open_append(root: Path, path: Path) -> IO[str]:
    """`path` (under `root`) opened to append UTF-8 text; refuses a symlink at the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = inside(root, path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW, 0o644)
    except OSError:
        if target.is_symlink():
            raise BadRecord(
                f"refusing to append to {target}: it is a symbolic link: remove it, then rerun"
            ) from None
        raise
    return os.fdopen(fd, "a", encoding="utf-8", newline="")
