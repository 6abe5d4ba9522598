"""Drafts are built from plain rows loaded a batch at a time; loaded that way or one
record at a time, every draft, label, snapshot and fingerprint is the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import OutboxEntry
from app.services.sending.drafts import BuiltDraft, DraftBuilder, Problem, record_label
from app.services.sending.outbox import sync_outbox
from tests.conftest import MemoryKeyring
from tests.send_fixtures import SendRig, build_rig


@pytest.fixture
def rig(tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[SendRig]:
    rig = build_rig(tmp_path / "data", memory_keyring)
    yield rig
    rig.store.close()


def _built(rig: SendRig, *, prefetch: bool, delivered: bool) -> list[object]:
    with rig.session_factory() as session, rig.connector() as connector:
        sync_outbox(session, "sandbox")
        entries = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
        builder = DraftBuilder(
            session,
            "sandbox",
            "Sandbox",
            connector.list_tax_rates(),
            assume_delivered={e.id for e in entries} if delivered else None,
        )
        if prefetch:
            builder.prefetch(entries)
        out: list[object] = []
        for entry in entries:
            built = builder.build(entry)
            label = builder.label(entry)
            assert label == record_label(session, entry.record_type, entry.record_id)
            if isinstance(built, BuiltDraft):
                assert built.label == label
                out.append((label, built.draft, built.snapshot, built.fingerprint))
            else:
                assert isinstance(built, Problem)
                out.append((label, built))
        session.rollback()
        return out


@pytest.mark.parametrize("delivered", [True, False], ids=["drafts", "held-back"])
def test_prefetched_and_one_by_one_build_the_same(rig: SendRig, delivered: bool) -> None:
    batch = _built(rig, prefetch=True, delivered=delivered)
    one_by_one = _built(rig, prefetch=False, delivered=delivered)
    assert batch == one_by_one
    drafts = [b for b in batch if len(b) == 4]  # type: ignore[arg-type]
    assert len(drafts) == (13 if delivered else 4)  # held back: only contacts can go
