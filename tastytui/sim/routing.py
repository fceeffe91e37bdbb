"""Routing on raw path segments.

aiohttp decodes ``%2F`` before routing, which would split ``BRK%2FB`` or an OCC symbol in two.
tastytrade paths carry such symbols, so we split the *raw* path first and percent-decode each
segment afterwards (the protocol reference, §2.1 "Path encoding").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from aiohttp import web

from tastytui.sim.wire import ApiError

Params = dict[str, str]
Handler = Callable[[web.Request, Params], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    segments: tuple[str, ...]
    handler: Handler
    auth: bool

    @property
    def specificity(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))

    def match(self, parts: list[str]) -> Params | None:
        if len(parts) != len(self.segments):
            return None
        params: Params = {}
        for pattern, raw in zip(self.segments, parts, strict=True):
            value = unquote(raw)
            if pattern.startswith("{"):
                if not value:
                    return None
                params[pattern[1:-1]] = value
            elif pattern != value:
                return None
        return params


def split_raw_path(raw_path: str) -> list[str]:
    path = raw_path.split("?", 1)[0]
    return [p for p in path.strip("/").split("/") if p != ""]


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        segments = tuple(p for p in pattern.strip("/").split("/") if p)
        self._routes.append(Route(method.upper(), segments, handler, auth))
        # Literal segments beat placeholders: /orders/live before /orders/{id}.
        self._routes.sort(key=lambda r: -r.specificity)

    def get(self, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        self.add("GET", pattern, handler, auth=auth)

    def post(self, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        self.add("POST", pattern, handler, auth=auth)

    def put(self, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        self.add("PUT", pattern, handler, auth=auth)

    def delete(self, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        self.add("DELETE", pattern, handler, auth=auth)

    def resolve(self, method: str, raw_path: str) -> tuple[Route, Params]:
        parts = split_raw_path(raw_path)
        allowed = False
        for route in self._routes:
            params = route.match(parts)
            if params is None:
                continue
            if route.method == method.upper():
                return route, params
            allowed = True
        if allowed:
            raise ApiError(405, "method_not_allowed", f"{method} is not allowed on this path")
        raise ApiError(404, "not_found", f"no such endpoint: {method} /{'/'.join(parts)}")
