"""Xero contacts changed since a moment: ``GET /Contacts`` with ``If-Modified-Since``
("only records created or modified since this timestamp will be returned", spec
``components.parameters.ifModifiedSince``), archived ones included so that a contact
archived since is seen as gone rather than as unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connectors.contract import RemoteContact
from connectors.errors import ConnectorError
from connectors.http import describe_status
from connectors.xero import wire

if TYPE_CHECKING:
    from connectors.xero.connector import XeroConnector

Json = dict[str, Any]


def header_value(since: datetime) -> str:
    """``2026-12-03T10:15:00.000+00:00``: the spec's date-time form, in UTC."""
    moment = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds")


def changed_contacts(
    connector: XeroConnector, since: datetime
) -> Iterator[tuple[str, RemoteContact | None]]:
    """Every contact Xero changed after ``since``: active ones as contacts, archived (or
    merged away) ones as ``None``."""
    headers = {"If-Modified-Since": header_value(since)}

    def fetch(page: int) -> tuple[list[Json], bool]:
        params: dict[str, str | int | bool] = {
            "includeArchived": True,
            "page": page,
            "pageSize": connector.PAGE_SIZE,
        }
        response = connector.request("GET", "Contacts", params=params, headers=headers)
        if response.status_code == 304:  # nothing changed
            return [], False
        data = connector.http.read_json(response)
        if response.status_code != 200 or not isinstance(data, dict):
            raise ConnectorError(
                f"Xero would not list the contacts changed since {header_value(since)} "
                f"({describe_status(response)})."
            )
        items = [c for c in data.get("Contacts") or [] if isinstance(c, dict)]
        return items, wire.more_pages(data, items, page, connector.PAGE_SIZE)

    for contact in connector.paged(fetch):
        ref = str(contact.get("ContactID") or "")
        active = contact.get("ContactStatus", "ACTIVE") == "ACTIVE"
        merged = str(contact.get("MergedToContactID") or "") not in ("", ref)
        yield ref, wire.remote_contact(contact) if active and not merged else None
