"""Whether set-up is far enough along for a real send.

A send with our accounts unmatched would mark every invoice and payment that uses them
as failed, hundreds of rows for one missing choice. So the send entry point asks here
first and refuses once, naming what to finish; the dry run still shows everything.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.setup.mapping import unmapped_in_use
from connectors.wording import count


def unfinished_setup(session: Session, package: str, package_name: str) -> str:
    """What must be finished before sending to ``package`` ("" when nothing): our
    nominal accounts that records waiting to send use but that are not matched to one
    of the package's accounts."""
    unmapped = unmapped_in_use(session, package)
    if not unmapped:
        return ""
    codes = sorted(unmapped, key=lambda code: (-unmapped[code], code))
    listed = ", ".join(f"{code} ({count(unmapped[code], 'line')})" for code in codes)
    first = codes[0]
    return (
        f"Set-up is not finished: {count(len(codes), 'nominal account')} used by records "
        f"waiting to send {'is' if len(codes) == 1 else 'are'} not matched to "
        f"{package_name}: {listed}. Nothing was sent. Match them on the Nominal accounts "
        f"page, or with `ledgerlink map {first} CODE`."
    )
