"""JSON shapes of tastytrade's wire format: envelopes, money with effects, dates and errors.

Contract (see the protocol reference): success bodies are ``{"data": ...}`` with lists under
``data.items``; errors are ``{"error": {"code", "message"[, "errors"]}}``; decimals travel as
strings; signed money travels as a magnitude plus a sibling ``<field>-effect``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web

JSON = dict[str, Any]


def dec(value: Decimal | float | int, places: int | None = None) -> str:
    """A decimal as the API sends it: a plain string, no exponent."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number {value!r} cannot go on the wire")
        value = Decimal(repr(value))
    elif isinstance(value, int):
        value = Decimal(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
    text = format(value, "f")
    return "0" if text in ("-0", "-0.0", "-0.00") else text


def money(body: JSON, field: str, signed: Decimal | float, places: int = 2) -> None:
    """Write ``field`` as a magnitude and ``field-effect`` as Debit/Credit/None."""
    value = Decimal(repr(signed)) if isinstance(signed, float) else signed
    body[field] = dec(abs(value), places)
    body[f"{field}-effect"] = "Debit" if value < 0 else ("Credit" if value > 0 else "None")


def iso(moment: datetime) -> str:
    """ISO-8601 with milliseconds and an explicit offset (never naive)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime on the wire")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def day(value: date) -> str:
    return value.isoformat()


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"))


def data(payload: JSON, status: int = 200) -> web.Response:
    """A single object under ``data`` (never empty: the SDK treats ``{}`` as an error)."""
    if not payload:
        raise ValueError("2xx responses must carry non-empty data")
    return web.Response(
        text=dumps({"data": payload, "context": "/sim"}),
        status=status,
        content_type="application/json",
    )


def items(rows: Sequence[JSON], status: int = 200) -> web.Response:
    return web.Response(
        text=dumps({"data": {"items": list(rows)}, "context": "/sim"}),
        status=status,
        content_type="application/json",
    )


def paginated(rows: Sequence[JSON], per_page: int, page_offset: int) -> web.Response:
    """One page of ``rows`` with production's pagination block."""
    per_page = max(1, per_page)
    total = len(rows)
    total_pages = max(1, math.ceil(total / per_page))
    start = page_offset * per_page
    page = list(rows[start : start + per_page])
    body = {
        "data": {"items": page},
        "context": "/sim",
        "pagination": {
            "per-page": per_page,
            "page-offset": page_offset,
            "item-offset": start,
            "total-items": total,
            "total-pages": total_pages,
            "current-item-count": len(page),
            "previous-link": None,
            "next-link": None,
            "paging-link-template": None,
        },
    }
    return web.Response(text=dumps(body), content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


class ApiError(Exception):
    """Raised by handlers; rendered as tastytrade's error envelope with the given status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Sequence[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = headers or {}

    def response(self) -> web.Response:
        body: JSON = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = [{"code": c, "message": m} for c, m in self.errors]
        return web.Response(
            text=dumps({"error": body}),
            status=self.status,
            content_type="application/json",
            headers=self.headers,
        )


def not_found(what: str) -> ApiError:
    return ApiError(404, "record_not_found", f"{what} not found")


def bad_request(message: str, code: str = "invalid_request") -> ApiError:
    return ApiError(400, code, message)


def query_list(request: web.Request, name: str) -> list[str]:
    """Values of a repeated ``name[]`` (or plain ``name``) query parameter."""
    values = request.query.getall(f"{name}[]", []) + request.query.getall(name, [])
    return [v for v in values if v != ""]


def query_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise bad_request(f"query parameter {name}={raw!r} is not a whole number") from exc


def query_date(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError as exc:
        raise bad_request(f"query parameter {name}={raw!r} is not a YYYY-MM-DD date") from exc


def query_datetime(request: web.Request, name: str) -> datetime | None:
    """Parse the SDK's ``str(datetime)`` form (space separator) or ISO-8601 with ``Z``."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"query parameter {name}={raw!r} is not a datetime") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def json_body(request: web.Request) -> JSON:
    try:
        body = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request("request body is not valid JSON", "invalid_json") from exc
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object", "invalid_json")
    return body
