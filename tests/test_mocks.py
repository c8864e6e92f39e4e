"""Every `responses` mock in the tests checks that each of its stubs was used.

A stub nobody calls is a test that no longer tests what it says (a path renamed, a call dropped);
`responses` only notices when `assert_all_requests_are_fired` is on, and `@responses.activate`
without arguments leaves it off.
"""

from __future__ import annotations

import re

from tests.support.paths import ROOT


def test_no_responses_mock_leaves_unused_stubs_unchecked() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name == "test_mocks.py":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            bare = re.search(r"@responses\.activate\s*$", line) or (
                "@responses.activate(" in line and "assert_all_requests_are_fired=True" not in line
            )
            if bare or "assert_all_requests_are_fired=False" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
