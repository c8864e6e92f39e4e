"""Golden notices: one per language and case, reviewed line by line (see tests/golden_cases.py).

A change to a template or a wording rule shows here as a diff to review; rewrite the files with
`python -m tests.golden_cases --write` only after reading every changed line.
"""
from __future__ import annotations

import pytest

from tests.golden_cases import CASES, READERS, REASON, VENDOR_TYPE, path, render


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("language", READERS)
def test_rendered_notice_matches_its_reviewed_golden_file(language, case):
    assert render(language, case) == path(language, case).read_text("utf-8")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("language", READERS)
def test_no_rendered_text_carries_the_reason_for_leaving(language, case):
    """Neither the reason text, any part of it, nor the HR platform's own termination type appears."""
    text = render(language, case).casefold()
    fragments = [REASON, VENDOR_TYPE, "RH-2026-031", "despido", "disciplinari", "incumplimiento", "expediente",
                 "involuntary", "voluntary", "dismiss", "resign", "fired", "kündigung", "licenciement", "démission",
                 "demisión", "dimisión", "acomiadament", "despedimento", "demissão", "rescisão"]
    for fragment in fragments:
        assert fragment.casefold() not in text, fragment


def test_readme_examples_are_what_relevo_renders():
    from tests.readme_notices import README, blocks, render

    found = blocks(README.read_text("utf-8"))
    assert {language for _, language, _ in found} == set(READERS)  # one notice per language
    for case, language, text in found:
        assert text == render(language, case), f"README block {case}.{language}: run python -m tests.readme_notices --write"
