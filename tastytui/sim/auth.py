"""OAuth for the simulator: refresh-token and authorization-code grants, bearer and quote tokens.

Behaves like production where the SDK can tell: ``POST /oauth/token`` answers at the top level
(``access_token``, ``expires_in``), errors use the tastytrade envelope (never OAuth's bare
``{"error": "invalid_grant"}``, which crashes the SDK), and redirect URIs match exactly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tastytui.domain.clock import Clock
from tastytui.sim.config import SimConfig
from tastytui.sim.wire import JSON, ApiError

#: How long an authorization code may wait before it is exchanged (production: minutes).
CODE_LIFETIME = timedelta(minutes=10)


@dataclass(slots=True)
class _Token:
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Code:
    redirect_uri: str
    expires_at: datetime


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


class AuthServer:
    """Issues and checks access tokens, quote tokens and authorization codes."""

    def __init__(self, config: SimConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._access: dict[str, _Token] = {}
        self._quote: dict[str, _Token] = {}
        self._codes: dict[str, _Code] = {}
        self._refresh_tokens: set[str] = {config.refresh_token}
        self.revoked = False
        self.refresh_count = 0

    # ------------------------------------------------------------- grants

    def token_grant(self, body: JSON) -> JSON:
        """Handle ``POST /oauth/token`` for both grant types."""
        grant = body.get("grant_type")
        if body.get("client_secret") != self._config.client_secret:
            raise _unauthorized(
                "invalid_client", "Client authentication failed: the client secret is wrong"
            )
        if grant == "refresh_token":
            if self.revoked or body.get("refresh_token") not in self._refresh_tokens:
                raise _unauthorized(
                    "invalid_grant",
                    "Grant revoked or refresh token invalid: create a new personal grant",
                )
            self.refresh_count += 1
            return self._issue()
        if grant == "authorization_code":
            if body.get("client_id") not in (None, self._config.client_id):
                raise _unauthorized("invalid_client", "Unknown client_id")
            # A code is single-use: it is spent even when the exchange below fails.
            issued_code = self._codes.pop(str(body.get("code", "")), None)
            if issued_code is None or self._clock.now() >= issued_code.expires_at:
                raise _unauthorized(
                    "invalid_grant", "Authorization code is invalid, expired or used"
                )
            if body.get("redirect_uri") != issued_code.redirect_uri:
                raise _unauthorized(
                    "invalid_grant", "redirect_uri does not match the authorization request"
                )
            refresh = "sim-refresh-" + secrets.token_urlsafe(16)
            self._refresh_tokens.add(refresh)
            self.revoked = False
            issued = self._issue()
            issued["refresh_token"] = refresh
            return issued
        raise ApiError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _issue(self) -> JSON:
        token = "sim-access-" + secrets.token_urlsafe(24)
        lifetime = self._config.token_lifetime
        self._access[token] = _Token(self._clock.now() + timedelta(seconds=lifetime))
        return {
            "access_token": token,
            "expires_in": lifetime,
            "token_type": "Bearer",
            "scope": "read trade openid",
        }

    def authorize(self, params: dict[str, str]) -> str:
        """Approve an authorization request; returns the redirect location with the code.

        The simulator has no login page: the single simulated customer approves at once.
        """
        if params.get("client_id") != self._config.client_id:
            raise _unauthorized("invalid_client", "Unknown client_id")
        redirect = params.get("redirect_uri", "")
        if redirect not in self._config.redirect_uris:
            raise _unauthorized(
                "invalid_redirect_uri",
                "redirect_uri does not exactly match a registered redirect URI "
                "(scheme, host, port, path and trailing slash must all be equal)",
            )
        if params.get("response_type") != "code":
            raise ApiError(400, "unsupported_response_type", "response_type must be 'code'")
        code = secrets.token_urlsafe(18)
        self._codes[code] = _Code(redirect, self._clock.now() + CODE_LIFETIME)
        # Append to the registered URI's own query (a redirect may already carry one).
        parts = urlsplit(redirect)
        query = [*parse_qsl(parts.query, keep_blank_values=True), ("code", code)]
        if "state" in params:
            query.append(("state", params["state"]))
        return urlunsplit(parts._replace(query=urlencode(query)))

    # ------------------------------------------------------------- checks

    def check_bearer(self, header: str | None) -> None:
        """Raise 401 unless the Authorization header carries a live access token."""
        token = (header or "").removeprefix("Bearer ").strip()
        issued = self._access.get(token)
        if issued is None:
            raise _unauthorized("token_invalid", "This access token is invalid or was revoked")
        if self._clock.now() >= issued.expires_at:
            raise _unauthorized("token_expired", "This access token has expired")

    def is_valid_access_token(self, token: str) -> bool:
        try:
            self.check_bearer(token)
        except ApiError:
            return False
        return True

    def issue_quote_token(self) -> tuple[str, datetime]:
        token = "sim-quote-" + secrets.token_urlsafe(24)
        expires = self._clock.now() + timedelta(seconds=self._config.quote_token_lifetime)
        self._quote[token] = _Token(expires)
        return token, expires

    def is_valid_quote_token(self, token: str) -> bool:
        issued = self._quote.get(token)
        return issued is not None and self._clock.now() < issued.expires_at

    # ------------------------------------------------------------- faults

    def expire_all(self) -> None:
        """Every access token expires now (the SDK only notices through a 401)."""
        now = self._clock.now()
        for token in self._access.values():
            token.expires_at = now

    def expire_quote_tokens(self) -> None:
        now = self._clock.now()
        for token in self._quote.values():
            token.expires_at = now

    def revoke_grant(self) -> None:
        """Revoke the refresh grant and every access token issued under it."""
        self.revoked = True
        self._access.clear()

    def restore_grant(self) -> None:
        self.revoked = False
