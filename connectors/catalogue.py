"""What each accounting package is, declared once.

These declarations are facts about the packages (how a reference looks and where a user
finds it, rate limits, batching, uniqueness rules), taken from the vendors' published
documentation; ``../shared/packages/`` and ``docs/packages.md`` give the sources. They
exist whether or not Ledgerlink has a working connector for the package yet, so the
wizard can list every package honestly and the link grid can read any package's
reference format. :mod:`connectors.registry` says which have a connector.
"""

from __future__ import annotations

from connectors.declarations import (
    ConnectField,
    PackageInfo,
    PackageKind,
    RateLimit,
    ReferenceFormat,
)

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
SANDBOX_HOST = "sandbox.ledgerlink.invalid"
SANDBOX_CONTACT_PATTERN = r"SBX-C\d{6,}"

SANDBOX = PackageInfo(
    key="sandbox",
    name="Sandbox (practice package)",
    kind=PackageKind.PRACTICE,
    reference=ReferenceFormat(
        label="Sandbox contact ID",
        pattern=SANDBOX_CONTACT_PATTERN,
        example="SBX-C000042",
        where_to_find=(
            "The Sandbox is a practice package built into Ledgerlink; it has no website "
            "of its own.",
            "In the link grid, start typing the contact's name, postcode or email in the "
            "reference cell and pick it from the Sandbox's list: its ID (for example "
            "SBX-C000042) is shown beside its name.",
            "`ledgerlink links export FILE.csv` also lists every linked contact's ID.",
            f"To practise pasting a web address, use https://{SANDBOX_HOST}/contacts/ "
            "followed by the ID. It is not a real website; Ledgerlink only reads the ID "
            "from it.",
        ),
        url_patterns=(
            r"https?://"
            + SANDBOX_HOST.replace(".", r"\.")
            + r"/contacts/("
            + SANDBOX_CONTACT_PATTERN
            + r")\b",
        ),
        url_example=f"https://{SANDBOX_HOST}/contacts/SBX-C000042",
        case_sensitive=False,
    ),
    # Local and practice-only: generous, so a demo send takes seconds, not minutes.
    rate_limit=RateLimit(per_minute=20_000, concurrent=1),
    batch_size=50,
    idempotency=True,
    names_unique_across_roles=True,
    can_update_contacts=True,
    connector="connectors.sandbox:SandboxConnector",
)

XERO = PackageInfo(
    key="xero",
    name="Xero",
    kind=PackageKind.CLOUD,
    reference=ReferenceFormat(
        label="Xero ContactID",
        pattern=_UUID,
        example="3ff6d40c-af9a-40a3-89ce-3c1556a25591",
        where_to_find=(
            "In Xero, open Contacts and click the customer or supplier.",
            "Copy the whole web address from the browser's address bar and paste it here: "
            "Ledgerlink takes the ContactID (the long code with dashes) out of it.",
        ),
        url_patterns=(
            r"(?:contacts?/(?:contact/|View/|View\.aspx\?contactID=))(" + _UUID + ")",
            r"(" + _UUID + ")",
        ),
        url_example="https://go.xero.com/app/!NLglS/contacts/contact/"
        "3ff6d40c-af9a-40a3-89ce-3c1556a25591",
        case_sensitive=False,
    ),
    rate_limit=RateLimit(per_minute=60, concurrent=5, per_day=5_000),
    batch_size=50,
    idempotency=True,
    # Customers and suppliers are one Contact type; names are unique among active ones.
    names_unique_across_roles=True,
    connect_fields=(ConnectField("signin", "Sign in to Xero", kind="oauth"),),
    connector="connectors.xero:XeroConnector",
    # POST /Contacts/{ContactID} (details only; see docs/packages/xero.md).
    can_update_contacts=True,
)

QUICKBOOKS_ONLINE = PackageInfo(
    key="quickbooks_online",
    name="QuickBooks Online",
    kind=PackageKind.CLOUD,
    reference=ReferenceFormat(
        label="QuickBooks customer or supplier Id",
        pattern=r"\d{1,12}",
        example="58",
        where_to_find=(
            "In QuickBooks Online, open Sales › Customers (or Expenses › Suppliers) and "
            "click the name.",
            "Copy the web address from the address bar and paste it here: Ledgerlink "
            "takes the number after nameId= out of it.",
        ),
        url_patterns=(r"[?&]nameId=(\d+)",),
        url_example="https://app.qbo.intuit.com/app/customerdetail?nameId=58",
    ),
    rate_limit=RateLimit(per_minute=500, concurrent=10),
    batch_size=30,
    idempotency=True,
    names_unique_across_roles=True,
    roles_are_separate_records=True,
    sales_post_through_items=True,
    name_forbidden_characters=":",
    connect_fields=(ConnectField("signin", "Sign in to QuickBooks", kind="oauth"),),
    connector="connectors.quickbooks_online:QuickBooksOnlineConnector",
    # A sparse update with the record's SyncToken (docs/packages/quickbooks-online.md).
    can_update_contacts=True,
)

SAGE_BUSINESS_CLOUD = PackageInfo(
    key="sage_business_cloud",
    name="Sage Business Cloud Accounting",
    kind=PackageKind.CLOUD,
    reference=ReferenceFormat(
        label="Sage contact id",
        pattern=r"[0-9a-f]{32}",
        example="cced5085c2d24394a758c5d16b38fca1",
        where_to_find=(
            "In Sage Accounting, open Contacts and click the customer or supplier.",
            "Copy the web address from the address bar and paste it here. If it ends in "
            "the contact's id, that is all Ledgerlink needs; if it ends in Sage's older "
            "number (for example …/contacts/customers/130175300), Ledgerlink asks Sage for "
            "it, and when Sage cannot find it by that number you pick the contact by name.",
            "Our name, address and email must match Sage's record exactly, capital letters "
            "included, before the link can be saved.",
        ),
        url_patterns=(
            # The contact's address in Sage's API (its $path), which carries the id itself.
            r"/v3(?:\.\d+)?/contacts/([0-9a-f]{32})\b",
            # A web page's address carrying the id itself.
            r"/contacts/(?:customers|vendors|suppliers)/([0-9a-f]{32})\b",
            # An older web page's address, carrying the legacy number to look up.
            r"/contacts/(?:customers|vendors|suppliers)/(\d+)(?![0-9A-Za-z])",
        ),
        url_example="https://accounts-extra.sageone.com/contacts/customers/130175300",
    ),
    # Sage publishes no figure; it asks integrations to pace themselves and honour 429.
    # About one request a second, as docs/packages/sage-business-cloud.md explains.
    rate_limit=RateLimit(per_minute=60, concurrent=1),
    # No batch endpoint; every create carries Sage's idempotency_id (and is still looked
    # up before any resend).
    batch_size=1,
    idempotency=True,
    exact_match_fields=("name", "address", "email"),
    connect_fields=(ConnectField("signin", "Sign in to Sage", kind="oauth"),),
    connector="connectors.sage_business_cloud:SageBusinessCloudConnector",
    # PUT /contacts/{key} (docs/packages/sage-business-cloud.md).
    can_update_contacts=True,
)

FREEAGENT = PackageInfo(
    key="freeagent",
    name="FreeAgent",
    kind=PackageKind.CLOUD,
    reference=ReferenceFormat(
        label="FreeAgent contact number",
        pattern=r"\d{1,12}",
        example="123",
        where_to_find=(
            "In FreeAgent, open Contacts and click the customer's or supplier's name.",
            "Look at the web address in your browser's address bar: it ends in /contacts/ "
            "and a number, for example https://yourbusiness.freeagent.com/contacts/123. "
            "That number is the reference.",
            "Copy the whole web address and paste it here, or type just the number at the "
            "end. (The API address, https://api.freeagent.com/v2/contacts/123, works too.)",
            "FreeAgent keeps one contact for a business you both sell to and buy from, so "
            "the same number can link a customer and a supplier.",
        ),
        url_patterns=(r"freeagent\.com/(?:v2/)?contacts/(\d+)\b",),
        url_example="https://yourbusiness.freeagent.com/contacts/123",
    ),
    # 120 a minute and 3,600 an hour per user; the connector adds the hour window.
    rate_limit=RateLimit(per_minute=120, concurrent=1),
    connect_fields=(ConnectField("signin", "Sign in to FreeAgent", kind="oauth"),),
    connector="connectors.freeagent:FreeAgentConnector",
    # PUT /v2/contacts/:id (docs/packages/freeagent.md).
    can_update_contacts=True,
)

KASHFLOW = PackageInfo(
    key="kashflow",
    name="KashFlow",
    kind=PackageKind.CLOUD,
    reference=ReferenceFormat(
        label="KashFlow customer or supplier Code",
        pattern=r"[A-Za-z0-9][A-Za-z0-9_\-]{0,19}",
        case_sensitive=False,
        example="ACME01",
        where_to_find=(
            "In KashFlow, open Customers (or Suppliers): the list shows each one's Code in "
            "the first column, for example ACME01.",
            "Type that Code here exactly: letters, digits, - and _ only, no spaces, at most "
            "20 characters. Capital letters do not matter.",
            "KashFlow's web addresses do not contain the Code, so type the Code rather than "
            "pasting an address.",
        ),
    ),
    rate_limit=RateLimit(per_minute=60, concurrent=1),
    connect_fields=(
        ConnectField(
            "signin",
            "Sign in to KashFlow",
            kind="memorable_word",
            help="KashFlow then asks for a few characters of your memorable word, by position.",
        ),
    ),
    connector="connectors.kashflow:KashFlowConnector",
    # PUT /v2/customers/{code} (suppliers UNVERIFIED; docs/packages/kashflow.md).
    can_update_contacts=True,
)

QUICKBOOKS_DESKTOP = PackageInfo(
    key="quickbooks_desktop",
    name="QuickBooks Desktop",
    kind=PackageKind.DESKTOP,
    reference=ReferenceFormat(
        label="QuickBooks customer or supplier name",
        pattern=r"[^:]{1,41}",
        example="Acme Heating Ltd",
        where_to_find=(
            "In QuickBooks Desktop, open the Customer Centre (or Supplier Centre).",
            "Copy the name exactly as QuickBooks shows it: spaces and punctuation count.",
        ),
    ),
    # A send only hands records over (locally); QuickBooks takes them at the Web
    # Connector's pace, so these bound the hand-over, not QuickBooks.
    rate_limit=RateLimit(per_minute=6000, concurrent=1),
    batch_size=500,
    links_by_name=True,
    names_unique_across_roles=True,
    handed_over_label="Queued for QuickBooks",
    connect_fields=(ConnectField("web_connector", "QuickBooks Web Connector", kind="qbwc"),),
    connector="connectors.quickbooks_desktop:QuickBooksDesktopConnector",
    # CustomerMod/VendorMod with the EditSequence, through the Web Connector's queue.
    can_update_contacts=True,
)

SAGE_50 = PackageInfo(
    key="sage_50",
    name="Sage 50 Accounts",
    kind=PackageKind.DESKTOP,
    reference=ReferenceFormat(
        label="Sage 50 account reference",
        pattern=r"[A-Z0-9#_/!%&.\-$()']{1,8}",
        example="SAGESOFT",
        where_to_find=(
            "In Sage 50, open Customers (or Suppliers).",
            "Type the A/C reference shown in the first column: up to 8 capital letters "
            "or digits, no spaces.",
        ),
    ),
    rate_limit=RateLimit(per_minute=600, concurrent=1),
    # Sage's lists come from its own exports (nominal list, Customer/Supplier Record CSV)
    # that the user gives Ledgerlink; the files are the only way in.
    can_list_contacts=True,
    can_list_accounts=True,
    # A whole record type goes into one file per send; a record found in a file after an
    # interrupted send is never written again (find_handed_over), which is what makes a
    # batch safe to retry here.
    idempotency=True,
    batch_size=100_000,
    connect_fields=(
        ConnectField("import_folder", "Folder for Sage 50 import files", kind="folder"),
    ),
    handed_over_label="Exported, waiting for you to import it into Sage",
    connector="connectors.sage_50:Sage50Connector",
    # A Customer/Supplier Records import row, where a blank does not overwrite.
    can_update_contacts=True,
)

#: Every package, in the order the wizard lists them.
PACKAGES: tuple[PackageInfo, ...] = (
    SANDBOX,
    XERO,
    QUICKBOOKS_ONLINE,
    SAGE_BUSINESS_CLOUD,
    FREEAGENT,
    KASHFLOW,
    SAGE_50,
    QUICKBOOKS_DESKTOP,
)

BY_KEY: dict[str, PackageInfo] = {info.key: info for info in PACKAGES}


def package_info(key: str) -> PackageInfo:
    """The declaration of one package (with or without a connector yet); ``KeyError``
    for an unknown key."""
    if key not in BY_KEY:
        raise KeyError(f"unknown accounting package {key!r}; known: {', '.join(BY_KEY)}")
    return BY_KEY[key]
