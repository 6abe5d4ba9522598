"""Create once per key, for packages with no idempotency of their own."""

from __future__ import annotations

import pytest

from connectors.create_once import CreateOnce
from connectors.errors import OutcomeUncertain, Rejected


def test_a_lost_answer_is_looked_for_before_sending_again() -> None:
    once, sent, found = CreateOnce(), [], ["INV-1 in the package"]

    def lost() -> str:
        sent.append(1)
        raise OutcomeUncertain("timed out after sending")

    with pytest.raises(OutcomeUncertain):
        once.create("k1", "draft", lost, find=lambda: None)
    assert once.create("k1", "draft", lost, find=lambda: found[0]) == "INV-1 in the package"
    assert sent == [1]  # found, so never sent twice
    assert once.create("k1", "draft", lost, find=lambda: None) == "INV-1 in the package"


def test_a_refusal_is_forgotten_and_another_draft_is_another_record() -> None:
    once = CreateOnce()

    def refuse() -> str:
        raise Rejected(code="x", reason="bad", fix="fix it")

    with pytest.raises(Rejected):
        once.create("k2", "draft", refuse, find=lambda: "never asked")
    assert once.create("k2", "draft", lambda: "new-id", find=lambda: "never asked") == "new-id"
    assert once.create("k2", "changed", lambda: "other-id", find=lambda: None) == "other-id"


def test_a_found_record_that_is_not_this_one_is_sent_again() -> None:
    once = CreateOnce()
    with pytest.raises(OutcomeUncertain):
        once.create("k3", "d", lambda: (_ for _ in ()).throw(OutcomeUncertain("?")), lambda: None)
    made = once.create(
        "k3", "d", lambda: "fresh", find=lambda: "someone else's", same=lambda f: False
    )
    assert made == "fresh"
