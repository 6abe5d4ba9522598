"""How every connector writes dates and amounts in the reasons and fixes it gives a
bookkeeper: UK dates and pounds, the same everywhere."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named in annotations: the window's first page needs no decimal
    from decimal import Decimal


def uk_date(value: date) -> str:
    """``date(2025, 11, 30)`` → ``"30/11/2025"``."""
    return value.strftime("%d/%m/%Y")


def money(value: Decimal) -> str:
    """``Decimal("-1234.5")`` → ``"-£1,234.50"``."""
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


#: Nouns whose plural is not the noun plus "s".
_PLURALS = {
    "company": "companies",
    "entry": "entries",
    "business": "businesses",
    "address": "addresses",
    "match": "matches",
    "was": "were",
    "is": "are",
    "has": "have",
    "it": "they",
}


def plural(noun: str, n: int) -> str:
    """``noun`` as it reads beside the number ``n``: ``plural("invoice", 2)`` →
    ``"invoices"``; only the last word changes (``"credit note"`` → ``"credit notes"``)."""
    if n == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    word = _PLURALS.get(last, last + "s")
    return f"{head} {word}" if head else word


def count(n: int, noun: str) -> str:
    """``count(2, "customer")`` → ``"2 customers"``, ``count(1, "credit note")`` →
    ``"1 credit note"``, with thousands separated: ``"1,503 records"``."""
    return f"{n:,} {plural(noun, n)}"


def a_or_an(noun: str) -> str:
    """``"an invoice"``, ``"a credit note"``: the article a bookkeeper would write."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A moment as a person reads it, in local time to the minute: ``"today at 09:15"``,
    ``"tomorrow at 11:15"``, ``"03/12/2026 at 09:15"``; ``"never"`` for none."""
    if moment is None:
        return "never"
    local = moment.astimezone()
    today = (now or datetime.now().astimezone()).astimezone().date()
    if local.date() == today:
        return f"today at {local:%H:%M}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow at {local:%H:%M}"
    if local.date() == today - timedelta(days=1):
        return f"yesterday at {local:%H:%M}"
    return f"{local:%d/%m/%Y at %H:%M}"
