"""Session endpoints: OAuth, the customer, session validation and the DXLink quote token."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from aiohttp import web

from tastytui.sim.config import DXLINK_PATH
from tastytui.sim.exchange import Exchange
from tastytui.sim.routing import Params, Router
from tastytui.sim.wire import JSON, ApiError, data, dumps, iso

_ADDRESS: JSON = {
    "city": "Chicago",
    "country": "USA",
    "is-domestic": True,
    "is-foreign": False,
    "postal-code": "60606",
    "state-region": "IL",
    "street-one": "1 Simulated Plaza",
}


def customer_json() -> JSON:
    return {
        "id": "me",
        "first-name": "Paper",
        "last-name": "Trader",
        "address": _ADDRESS,
        "mailing-address": _ADDRESS,
        "is-foreign": False,
        "usa-citizenship-type": "Citizen",
        "mobile-phone-number": "+1 555 0100",
        "birth-date": "1980-01-01",
        "email": "paper.trader@sim.invalid",
        "tax-number-type": "SSN",
        "subject-to-tax-withholding": False,
        "has-industry-affiliation": False,
        "has-listed-affiliation": False,
        "has-political-affiliation": False,
        "has-delayed-quotes": False,
        "has-pending-or-approved-application": False,
        "is-professional": False,
        "permitted-account-types": [
            {
                "name": "Individual",
                "description": "Individual Account",
                "is-tax-advantaged": False,
                "is-publicly-available": True,
                "has-multiple-owners": False,
                "margin-types": [
                    {"name": "Cash", "is-margin": False},
                    {"name": "Margin", "is-margin": True},
                ],
            }
        ],
        "created-at": "2020-01-02T15:00:00.000Z",
    }


def register(router: Router, exchange: Exchange) -> None:
    auth = exchange.auth

    async def oauth_token(request: web.Request, params: Params) -> web.StreamResponse:
        raw = await request.text()
        body: JSON
        if request.content_type == "application/x-www-form-urlencoded":
            body = dict(parse_qsl(raw))
        else:
            try:
                parsed = json.loads(raw or "{}")
            except json.JSONDecodeError as exc:
                raise ApiError(400, "invalid_request", "token request is not JSON") from exc
            if not isinstance(parsed, dict):
                raise ApiError(400, "invalid_request", "token request must be an object")
            body = parsed
        # The token endpoint answers at the top level, not under "data".
        return web.Response(text=dumps(auth.token_grant(body)), content_type="application/json")

    async def oauth_authorize(request: web.Request, params: Params) -> web.StreamResponse:
        location = auth.authorize(dict(request.query))
        raise web.HTTPFound(location)

    async def customer(request: web.Request, params: Params) -> web.StreamResponse:
        if params["customer"] != "me":
            raise ApiError(404, "record_not_found", "customer not found")
        return data(customer_json())

    async def validate(request: web.Request, params: Params) -> web.StreamResponse:
        auth.check_bearer(request.headers.get("Authorization"))
        return data({"id": "me", "email": "paper.trader@sim.invalid", "username": "paper"})

    async def quote_token(request: web.Request, params: Params) -> web.StreamResponse:
        token, expires = auth.issue_quote_token()
        url = exchange.base_url.replace("http://", "ws://", 1) + DXLINK_PATH
        return data(
            {
                "token": token,
                "dxlink-url": url,
                "level": "api",
                "issued-at": iso(exchange.clock.now()),
                "expires-at": iso(expires),
            }
        )

    async def risk_free_rate(request: web.Request, params: Params) -> web.StreamResponse:
        from tastytui.sim.market import RISK_FREE_RATE

        return data({"risk-free-rate": str(RISK_FREE_RATE)})

    router.post("/oauth/token", oauth_token, auth=False)
    router.get("/oauth/authorize", oauth_authorize, auth=False)
    router.get("/customers/{customer}", customer)
    router.post("/sessions/validate", validate, auth=False)
    router.get("/api-quote-tokens", quote_token)
    router.get("/margin-requirements-public-configuration", risk_free_rate, auth=False)
