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


def no_such_contact(
    package: str, what: str, *, record: str = "contact", gone: str = ""
) -> Rejected:
    """The linked contact is not in ``package`` any more: ``what`` names the reference
    as the package knows it (``contact 42``, ``customer or supplier with Code AB01``),
    ``record`` what the user links to there, ``gone`` how else it may have gone."""
    how = f"deleted or {gone}" if gone else "deleted"
    return Rejected(
        code="unknown_contact",
        field="reference",
        reason=f"{package} has no {what}; it may have been {how}.",
        fix=(
            f"Link our contact to the {package} {record} it now is, on the Link page, "
            "then sync again."
        ),
    )


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
