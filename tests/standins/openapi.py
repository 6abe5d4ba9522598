"""Checking traffic against Xero's own OpenAPI description (v16.1.0).

The description lives outside the repository, in ``../shared/specs/`` beside it (it is
not copied in); :func:`xero_checker` returns ``None`` when it is absent or
``openapi-core`` is not installed, and the tests that need it skip.

Requests are checked for their path, query and header parameters and their body;
answers for their body, where the description documents the status. Two checks go
further than the description itself, because its schemas allow any extra property:
a request body may not carry a field the schema does not know (a misspelling would
otherwise pass silently, and Xero ignores unknown fields) nor one it marks read-only.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from connectors.http import loads_json

SPEC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
ACCOUNTING = "xero_accounting.yaml"
IDENTITY = "xero-identity.yaml"
XERO_HOST = "https://api.xero.com"


def spec_available() -> bool:
    return (SPEC_DIR / ACCOUNTING).is_file() and importlib.util.find_spec(
        "openapi_core"
    ) is not None


@functools.cache
def xero_checker() -> XeroSpecChecker | None:
    """The checker, loaded once per test run; ``None`` when the description is absent."""
    if not spec_available():
        return None
    import yaml

    def load(name: str) -> dict[str, Any]:
        text = (SPEC_DIR / name).read_text(encoding="utf-8")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data: dict[str, Any] = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        return data

    return XeroSpecChecker(load(ACCOUNTING), load(IDENTITY))


class _Request:
    """An httpx request as openapi-core reads one."""

    def __init__(self, request: httpx.Request, path: str) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = XERO_HOST
        self.path = path
        self.full_url_pattern = XERO_HOST + path
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("Content-Type", "application/json").lower()


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        from werkzeug.datastructures import Headers

        self.status_code = response.status_code
        self.headers = Headers(list(response.headers.items()))
        self.content_type = response.headers.get("Content-Type", "application/json").lower()
        self.data: bytes | None = response.content


class _Spec:
    """One OpenAPI document and its validators."""

    def __init__(self, document: dict[str, Any]) -> None:
        from jsonschema_path import SchemaPath
        from openapi_core.validation.request.validators import (
            V30RequestBodyValidator,
            V30RequestParametersValidator,
        )
        from openapi_core.validation.response.validators import V30ResponseDataValidator

        self.document = document
        spec = SchemaPath.from_dict(document)
        self.body = V30RequestBodyValidator(spec)
        self.parameters = V30RequestParametersValidator(spec)
        self.response = V30ResponseDataValidator(spec)


class XeroSpecChecker:
    """Problems with a request or an answer, as readable strings (empty: all valid)."""

    def __init__(self, accounting: dict[str, Any], identity: dict[str, Any]) -> None:
        self.accounting = _Spec(accounting)
        self.identity = _Spec(identity)

    def _locate(self, request: httpx.Request) -> tuple[_Spec, str] | None:
        path = request.url.path
        if path.startswith("/api.xro/2.0/"):
            return self.accounting, path
        if path.lower().rstrip("/") == "/connections" or path.lower().startswith("/connections/"):
            return self.identity, "/Connections" + path[len("/connections") :]
        return None

    def request_problems(self, request: httpx.Request) -> list[str]:
        located = self._locate(request)
        if located is None:
            return []
        spec, path = located
        wrapped = _Request(request, path)
        problems = [_describe(e) for e in spec.parameters.iter_errors(wrapped)]
        if request.content:
            problems += [_describe(e) for e in spec.body.iter_errors(wrapped)]
            operation = _operation(spec.document, path, request.method)
            schema = _body_schema(operation)
            if schema is not None:
                body = loads_json(request.content)
                problems += _strict(spec.document, schema, body, "body")
        return problems

    def response_problems(self, request: httpx.Request, response: httpx.Response) -> list[str]:
        located = self._locate(request)
        if located is None:
            return []
        spec, path = located
        operation = _operation(spec.document, path, request.method)
        documented = (operation or {}).get("responses", {})
        if str(response.status_code) not in documented or not response.content:
            return []
        return [
            _describe(e)
            for e in spec.response.iter_errors(_Request(request, path), _Response(response))
        ]


def _describe(error: Exception) -> str:
    details = getattr(error, "schema_errors", None) or getattr(
        error.__cause__, "schema_errors", None
    )
    if details:
        return f"{error}: " + "; ".join(
            f"{'/'.join(str(p) for p in d.absolute_path)}: {d.message}" for d in details[:5]
        )
    cause = f" ({error.__cause__})" if error.__cause__ else ""
    return f"{type(error).__name__}: {error}{cause}"


def _operation(document: Mapping[str, Any], path: str, method: str) -> Mapping[str, Any] | None:
    """The operation a concrete path falls under (``/Contacts/123`` → ``/Contacts/{…}``)."""
    parts = path.split("/")
    prefix = "/api.xro/2.0" if path.startswith("/api.xro/2.0/") else ""
    for template, item in document.get("paths", {}).items():
        candidate = (prefix + template).split("/")
        if len(candidate) == len(parts) and all(
            c == p or (c.startswith("{") and c.endswith("}"))
            for c, p in zip(candidate, parts, strict=True)
        ):
            operation = item.get(method.lower())
            if operation is not None:
                return operation  # type: ignore[no-any-return]
    return None


def _body_schema(operation: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if operation is None:
        return None
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema if isinstance(schema, Mapping) else None


def _resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _strict(
    document: Mapping[str, Any], schema: Mapping[str, Any], value: Any, where: str
) -> list[str]:
    """Unknown or read-only fields anywhere in a request body."""
    schema = _resolve(document, schema)
    problems: list[str] = []
    if isinstance(value, Mapping):
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return problems
        for key, item in value.items():
            if key not in properties:
                problems.append(f"{where}.{key}: not a field Xero's schema knows")
                continue
            field_schema = _resolve(document, properties[key])
            if field_schema.get("readOnly") or properties[key].get("readOnly"):
                problems.append(f"{where}.{key}: read-only in Xero's schema")
            problems += _strict(document, properties[key], item, f"{where}.{key}")
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                problems += _strict(document, items, item, f"{where}[{index}]")
    return problems
