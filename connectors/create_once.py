"""Creating a record once per idempotency key in a package that has no idempotency of
its own (FreeAgent, KashFlow; Sage as the backstop behind its ``idempotency_id``).

A key whose record was made is answered from memory. A key whose answer was lost (the
request may have reached the package) is looked for in the package by our own key
(document number, payment reference, account reference) before it is sent again; a key
the package refused is forgotten, so the corrected record goes as a new request. A key
reused for a different draft is sent afresh: it is a different record.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from connectors.errors import ConnectorError, OutcomeUncertain


@dataclass(frozen=True)
class _Sent:
    fingerprint: str
    remote_id: str = ""


class CreateOnce:
    """The memory of what was sent under which key, for one connector (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, _Sent] = {}

    def create(
        self,
        key: str,
        draft: object,
        send: Callable[[], str],
        find: Callable[[], str | None],
        same: Callable[[str], bool] = lambda _found: True,
    ) -> str:
        """The package's id for ``draft`` sent under ``key``: remembered, found by
        ``find`` (when ``same`` agrees it is this record) after a lost answer, or made by
        ``send``. An uncertain outcome is kept for the next call's look-up."""
        fingerprint = hashlib.sha256(repr(draft).encode("utf-8")).hexdigest()
        with self._lock:
            before = self._sent.get(key)
        if before is not None and before.fingerprint == fingerprint:
            if before.remote_id:
                return before.remote_id
            found = find()
            if found and same(found):
                with self._lock:
                    self._sent[key] = _Sent(fingerprint, found)
                return found
        with self._lock:
            self._sent[key] = _Sent(fingerprint)
        try:
            remote_id = send()
        except OutcomeUncertain:
            raise
        except ConnectorError:
            # Refused, or never reached the package: nothing was written for this key.
            with self._lock:
                self._sent.pop(key, None)
            raise
        with self._lock:
            self._sent[key] = _Sent(fingerprint, remote_id)
        return remote_id
