"""How a package's refusal of new contact details is put to a bookkeeper, the same for
every package: the package's own words quoted, and the detail of ours at fault when
those words name one, so the sync wizard can point at the field."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.errors import Rejected


def field_named(text: str, clues: Sequence[tuple[str, str]]) -> str:
    """The first of our contact fields whose clue word appears in ``text`` (a package's
    refusal or the names of the elements it blames), or ``""``."""
    lowered = text.lower()
    return next((field for word, field in clues if word in lowered), "")


def update_refused(package: str, who: str, said: str, field: str) -> Rejected:
    """The refusal of an update to ``who`` (the contact, as the package names it) in
    ``package``, quoting ``said`` and blaming ``field`` when one is known."""
    said = said.strip() or "no reason given"
    if not said.endswith((".", "!", "?")):
        said += "."
    return Rejected(
        code="update_refused",
        field=field,
        reason=f"{package} refused the new details for {who}: {said}",
        fix=(
            f"Correct the {field.replace('_', ' ')} on our contact and sync again."
            if field
            else f"Correct our contact's details and sync again, or change them in {package}."
        ),
    )
