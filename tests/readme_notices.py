"""The README's example notices are the renderer's output: `--write` refreshes them, the test compares.

Each example is a fenced text block after a `<!-- notice: CASE.LANGUAGE -->` marker in README.md.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.golden_cases import READERS, render

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(
    r"<!-- notice: (?P<case>[a-z_]+)\.(?P<language>[A-Za-z-]+) -->\n```text\n(?P<text>.*?)```\n", re.S
)
NAMES = {
    "es": "Spanish",
    "en": "English (UK)",
    "ca": "Catalan (Andorra)",
    "pt": "Portuguese (Portugal)",
    "pt-BR": "Portuguese (Brazil)",
    "fr": "French (Geneva)",
    "de": "German (Austria)",
}


def blocks(text: str) -> list[tuple[str, str, str]]:
    """(case, language, text) of every example block in the README."""
    return [(m["case"], m["language"], m["text"]) for m in BLOCK.finditer(text)]


def example(case: str, language: str) -> str:
    return f"<!-- notice: {case}.{language} -->\n```text\n{render(language, case)}```\n"


def refresh(text: str, case: str = "resignation_ahead") -> str:
    """The README with every block re-rendered; blocks are added after the section's intro if missing."""
    if not blocks(text):
        anchor = "Every case in every language is in\n[tests/golden/](tests/golden/).\n"
        examples = "".join(f"\n{NAMES[language]}:\n\n{example(case, language)}" for language in READERS)
        return text.replace(anchor, anchor + examples, 1)
    return BLOCK.sub(lambda m: example(m["case"], m["language"]), text)


if __name__ == "__main__":
    if "--write" in sys.argv:
        README.write_text(refresh(README.read_text("utf-8")), "utf-8")
    else:
        for case, language, _ in blocks(README.read_text("utf-8")):
            print(case, language)
