"""The base every cloud connector stands on: sign-in, the chosen tenant, one HTTP client
with the connection's one rate limiter, error mapping hooks, paging, batches that keep
their finished records, and a durable log of finished steps.

A package's connector subclasses :class:`CloudConnector` and supplies only what is its
own (see docs/architecture.md, "Adding a cloud package"):

- its declaration (``info``, from :mod:`connectors.catalogue`) and its sign-in provider
  (:meth:`CloudConnector.make_provider`);
- where its API lives for the chosen tenant (:meth:`CloudConnector.api_url`) and how the
  tenant travels (``TENANT_HEADER``, or inside the address);
- how it lists the tenants a sign-in reaches (:meth:`list_organisations`);
- its wire mapping and rules: the contract's reads and :meth:`create_chunk`.

Everything else — tokens, 401/403/429/5xx translation, pacing every request (reads
included) within the package's per-minute and per-day windows, the package's own
"remaining" headers, a tenant picked automatically when the sign-in reaches only one,
``create_batch`` grouping and partial results — lives here once.
"""

from __future__ import annotations

import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import httpx

from connectors.contract import (
    BatchItem,
    ConnectorContext,
    ContactDraft,
    CreateResult,
    DocumentDraft,
    DocumentType,
    RateScale,
)
from connectors.errors import BatchInterrupted, ConnectorError, NeedsReconnecting, Rejected
from connectors.http import ApiClient, QueryParams, describe_status, make_client
from connectors.limits import RateLimiter, Window
from connectors.oauth import (
    BearerAuth,
    ClientCredentials,
    OAuthConnector,
    OAuthProvider,
    OAuthSession,
    SignInError,
    TokenManager,
    TokenStore,
    client_credentials,
    env_name,
)
from connectors.steps import StepLog, StepStore

Json = dict[str, Any]
Params = dict[str, str | int | bool]
#: One record of a chunk: its position in the caller's batch, and the item.
Indexed = tuple[int, BatchItem]


class TenantNotChosen(NeedsReconnecting):
    """The sign-in reaches several tenants (organisations, businesses) and none is
    chosen yet."""


def record_kind(item: BatchItem) -> str:
    """``contact``, ``invoice``, ``credit_note`` or ``payment``: how batches are grouped."""
    draft = item.draft
    if isinstance(draft, ContactDraft):
        return "contact"
    if isinstance(draft, DocumentDraft):
        return "invoice" if draft.type is DocumentType.INVOICE else "credit_note"
    return "payment"


class CloudConnector(OAuthConnector):
    """One tenant of a cloud package, reached over HTTPS with OAuth 2.0.

    ``clock`` (seconds since the epoch, for token expiry) and ``sleep`` are for tests on
    virtual time; on the real clock the rate limiter uses the monotonic clock, which no
    system-time change can move. ``limiter`` replaces the one built from the catalogue
    (a test that shares one between connections).
    """

    #: Header carrying the chosen tenant on every call (``xero-tenant-id``); ``""`` when
    #: the tenant is part of the address (QuickBooks' realm).
    TENANT_HEADER: ClassVar[str] = ""
    #: What the package calls a tenant, for messages ("organisation", "business"), and
    #: its plural.
    TENANT_WORD: ClassVar[str] = "organisation"
    TENANT_WORDS: ClassVar[str] = "organisations"
    #: The package insists on Ledgerlink's client secret at sign-in.
    NEEDS_CLIENT_SECRET: ClassVar[bool] = False
    #: Response headers carrying the package's own count of calls left, by limiter
    #: window (Xero: ``{"X-MinLimit-Remaining": "minute", ...}``).
    REMAINING_HEADERS: ClassVar[Mapping[str, str]] = {}
    #: Response header naming which limit a 429 hit (Xero: ``X-Rate-Limit-Problem``).
    RATE_LIMIT_DETAIL_HEADER: ClassVar[str] = ""
    #: Records per create request, by record kind, where the package's batch size does
    #: not apply (one credit note per request where each needs an allocation after it).
    CHUNK_SIZES: ClassVar[Mapping[str, int]] = {}
    #: What a 403 means at this package, in words for the user.
    FORBIDDEN_MESSAGE: ClassVar[str] = (
        "{package} refused access (403): the app may have been disconnected, or the "
        "sign-in lacks a permission Ledgerlink needs. Sign in again on the Connect page."
    )

    def __init__(
        self,
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(context)
        self.clock = clock
        settings = context.settings
        self.provider = self.make_provider(settings)
        self.tokens = TokenManager(
            self.provider,
            self._credentials,
            TokenStore(context.secrets, self.provider.key),
            transport=context.transport,
            clock=clock,
        )
        self._oauth = self.make_session()
        pacing_clock = time.monotonic if clock is time.time else clock
        self.rate_limiter = limiter or RateLimiter.for_package(
            self.info.rate_limit,
            package_name=self.info.name,
            extra=self.extra_windows(context.rate_scale),
            scale=context.rate_scale,
            clock=pacing_clock,
            sleep=sleep,
        )
        self.http = ApiClient(
            make_client(transport=context.transport, auth=BearerAuth(self.tokens)),
            package_name=self.package_name,
            max_concurrent=self.info.rate_limit.concurrent,
            rate_limit_detail=self.RATE_LIMIT_DETAIL_HEADER,
            limiter=self.rate_limiter,
            remaining_headers=self.REMAINING_HEADERS,
        )
        self.steps: StepStore = context.steps or StepLog.in_folder(context.data_dir, self.info.key)
        self._tenant = (settings.get("tenant_id") or "").strip()
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ what a package supplies

    @abstractmethod
    def make_provider(self, settings: Mapping[str, str]) -> OAuthProvider:
        """The package's OAuth provider (addresses may come from ``settings``)."""

    @abstractmethod
    def api_url(self, tenant_id: str) -> str:
        """The API's base address for ``tenant_id`` (no trailing slash)."""

    def make_session(self) -> OAuthSession:
        """The sign-in helper; override for a package with its own redirect handling."""
        return OAuthSession(self.provider, self._credentials, self.tokens)

    def extra_windows(self, scale: RateScale) -> list[Window]:
        """Limits beyond the catalogue's per-minute and per-day ones (QuickBooks: 40
        batch requests a minute); ``scale`` as for the declared ones."""
        return []

    @property
    def package_name(self) -> str:
        """The package's name in messages ("Xero")."""
        return self.info.name

    # ------------------------------------------------------------------ sign-in

    def _credentials(self) -> ClientCredentials:
        credentials = client_credentials(self.provider, self.context.settings, self.context.secrets)
        if self.NEEDS_CLIENT_SECRET and not credentials.client_secret:
            key = self.provider.key
            raise SignInError(
                f"{self.package_name} needs Ledgerlink's client secret to sign in, and none "
                f"is set. Set the environment variable {env_name(key, 'client_secret')} (or "
                f"store it in the keyring as {key}.client_secret), then try again."
            )
        return credentials

    @property
    def oauth(self) -> OAuthSession:
        """The sign-in session behind this connector's tokens."""
        return self._oauth

    def sign_out(self) -> None:
        """Forget the tokens on this computer."""
        self._oauth.sign_out()

    # ------------------------------------------------------------------ the tenant

    def choose_tenant(self, tenant_id: str) -> None:
        """Send to ``tenant_id`` from now on (the Connect page's pick)."""
        with self._lock:
            self._tenant = tenant_id.strip()

    @property
    def tenant_id(self) -> str:
        """The chosen tenant; with none chosen and exactly one reachable, that one."""
        with self._lock:
            if self._tenant:
                return self._tenant
        tenants = self.list_organisations()
        if len(tenants) == 1:
            with self._lock:
                self._tenant = tenants[0].id
                return self._tenant
        word = self.TENANT_WORD
        if not tenants:
            raise NeedsReconnecting(
                f"This {self.package_name} sign-in reaches no {word}. Sign in again on the "
                f"Connect page and choose the {word} Ledgerlink should send to."
            )
        names = ", ".join(t.name for t in tenants)
        raise TenantNotChosen(
            f"This {self.package_name} sign-in reaches {len(tenants)} {self.TENANT_WORDS} "
            f"({names}). "
            f"Choose the one Ledgerlink should send to on the Connect page."
        )

    # ------------------------------------------------------------------ HTTP

    def request(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        creates: bool | None = None,
        tenant: bool = True,
        url: str = "",
        costs: Mapping[str, int] | None = None,
    ) -> httpx.Response:
        """One call to the API, paced, with the tenant; a 403 means signing in again.
        ``creates`` defaults to "any method but GET"; ``url`` replaces the API address
        (calls outside the tenant, such as listing the tenants)."""
        send_headers = dict(headers or {})
        if tenant and self.TENANT_HEADER:
            send_headers[self.TENANT_HEADER] = self.tenant_id
        address = url or f"{self.api_url(self.tenant_id if tenant else '')}/{path}"
        response = self.http.request(
            method,
            address,
            params=params,
            body=body,
            headers=send_headers,
            creates=method != "GET" if creates is None else creates,
            costs=costs,
        )
        if response.status_code == 403:
            raise NeedsReconnecting(self.FORBIDDEN_MESSAGE.format(package=self.package_name))
        return response

    def error_text(self, data: Any) -> str:
        """The package's own words in an error answer ("" when it says nothing)."""
        return ""

    def get_json(self, path: str, params: QueryParams = None) -> Any:
        """A read's JSON; ``None`` when the package has no such record (404)."""
        response = self.request("GET", path, params=params)
        if response.status_code == 404:
            return None
        data = self.http.read_json(response)
        if response.status_code != 200:
            said = self.error_text(data) or describe_status(response)
            raise ConnectorError(
                f"{self.package_name} would not answer {path.split('/')[0].split('?')[0]} ({said})."
            )
        return data

    @staticmethod
    def paged(fetch: Callable[[int], tuple[list[Json], bool]]) -> Iterator[Json]:
        """Every record of a paged list: ``fetch(page)`` (from 1) answers a page's
        records and whether another page follows."""
        page = 1
        while True:
            records, more = fetch(page)
            yield from records
            if not more:
                return
            page += 1

    # ------------------------------------------------------------------ creating

    def create_contact(self, draft: ContactDraft, idempotency_key: str) -> str:
        """One contact through :meth:`create_batch`; ``Rejected`` if the package refuses it."""
        return _only(self.create_batch([BatchItem(draft, idempotency_key)]))

    def create_document(self, draft: DocumentDraft, idempotency_key: str) -> str:
        """One document through :meth:`create_batch`; ``Rejected`` if the package refuses it."""
        return _only(self.create_batch([BatchItem(draft, idempotency_key)]))

    def create_payment(self, draft: Any, idempotency_key: str) -> str:
        """One payment through :meth:`create_batch`; ``Rejected`` if the package refuses it."""
        return _only(self.create_batch([BatchItem(draft, idempotency_key)]))

    def chunk_size(self, kind: str) -> int:
        """Records of ``kind`` per :meth:`create_chunk` call."""
        return max(1, self.CHUNK_SIZES.get(kind, self.info.batch_size))

    def create_batch(self, items: Sequence[BatchItem]) -> list[CreateResult]:
        """Records grouped by kind, in chunks of :meth:`chunk_size`, each chunk made by
        :meth:`create_chunk`. When a chunk stops on anything but a refusal (a 429, a
        cancel, a lost answer) after others finished, :class:`BatchInterrupted` carries
        the finished results, so nothing finished is sent again."""
        results: list[CreateResult | None] = [None] * len(items)
        groups: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(record_kind(item), []).append(index)
        for kind, indices in groups.items():
            size = self.chunk_size(kind)
            for start in range(0, len(indices), size):
                chunk = [(i, items[i]) for i in indices[start : start + size]]
                try:
                    done = self.create_chunk(kind, chunk)
                except Rejected as refused:
                    # A refusal of the whole chunk is each record's refusal.
                    done = [(index, refused) for index, _ in chunk]
                except ConnectorError as stopped:
                    if any(r is not None for r in results):
                        raise BatchInterrupted(list(results), stopped) from stopped
                    raise
                for index, result in done:
                    results[index] = result
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise AssertionError(f"create_chunk left records {missing} without a result")
        return [r for r in results if r is not None]

    @abstractmethod
    def create_chunk(self, kind: str, chunk: list[Indexed]) -> list[tuple[int, CreateResult]]:
        """Create one chunk of records of one ``kind``: a result (id or
        :class:`~connectors.errors.Rejected`) for each position in ``chunk``. Raise for
        what applies to the whole chunk (rate limit, lost answer, sign-in)."""

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


def _only(results: Sequence[CreateResult]) -> str:
    (result,) = results
    if isinstance(result, Rejected):
        raise result
    if not isinstance(result, str):
        raise AssertionError("a cloud package answers at once, never by hand-over")
    return result
