"""Hot routes served around FastAPI's per-request machinery (D68).

A lane is a pure ASGI layer inside the request-id and metrics middleware (`ServiceSpec.lanes`). For
the few routes it is given — the counter's meal, the vouchers call behind it — it finds the route by
its method and path, builds the endpoint's arguments itself and calls **the same endpoint function
FastAPI would**: one implementation, declared once, documented in the OpenAPI document as before.
Everything else goes on to the app.

What it skips is what py-spy showed costing a fifth of a hot route's CPU (bench/meals.py): the scan
over every route of the service, the generic dependency solver, and two middleware layers. What it
keeps: the same body model (`model_validate_json`, errors turned into the `RequestValidationError`
the app's handler answers 422 or 400 for), the same principal (`get_principal`), the response
model's validation and JSON, the status code of the route, and the app's exception handlers for
every error, so a lane's answer is the route's answer.

The endpoint's parameters are resolved by name and checked when the lane is built: `ctx`, `rt`
(`ctx.runtime`), `principal`, `idempotency_key` (the header, at most 200 characters as the
`IdempotencyKey` dependency says), `body` (the annotated pydantic model; `Model | None = None`
is None for an empty body, as FastAPI has it), the route's path parameters (validated by their
annotation) and query parameters (any other scalar parameter, its `Query(...)` constraints and
default kept: one pydantic model of them all, errors located at `("query", name)`). An endpoint
with a parameter of any other kind is refused at start-up rather than served differently.
"""
from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo

from shared.app import get_principal

KNOWN = ("ctx", "rt", "principal", "idempotency_key", "body")
IDEMPOTENCY_KEY_MAX = 200


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern
    label: Any  # what the metrics read as scope["route"] (the route's own path template)
    endpoint: Any
    params: tuple[str, ...]
    path_types: dict[str, TypeAdapter]
    body: type[BaseModel] | None
    body_optional: bool
    query: type[BaseModel] | None
    out: TypeAdapter | None
    status: int


def lane_route(router, endpoint) -> _Route:
    """The route of `router` whose endpoint is `endpoint`, as a lane serves it."""
    route = next((r for r in router.routes if getattr(r, "endpoint", None) is endpoint), None)
    if route is None:
        raise ValueError(f"{endpoint.__name__} is not an endpoint of this router")
    (method,) = route.methods
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint).parameters
    params = tuple(signature)
    path_names = re.findall(r"{(\w+)}", route.path)
    query = {p: signature[p] for p in params if p not in KNOWN and p not in path_names}
    unknown = [p for p in query if not _scalar(hints[p])]
    if unknown:
        raise ValueError(f"a lane cannot serve {route.path}: parameters {unknown}")
    pattern = re.compile("^" + re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", route.path) + "$")
    body = typing.get_args(hints["body"])[0] if typing.get_origin(hints.get("body")) is typing.Annotated \
        else hints.get("body")
    body_optional = body is not None and type(None) in typing.get_args(body)
    if body_optional:
        body = next(a for a in typing.get_args(body) if a is not type(None))
    return _Route(method=method, pattern=pattern, label=route, endpoint=endpoint, params=params,
                  path_types={name: TypeAdapter(hints[name]) for name in path_names},
                  body=body, body_optional=body_optional,
                  query=create_model(f"{endpoint.__name__}_query", **{
                      name: (hints[name], p.default if isinstance(p.default, FieldInfo) else
                             (... if p.default is inspect.Parameter.empty else p.default))
                      for name, p in query.items()}) if query else None,
                  out=TypeAdapter(route.response_model) if route.response_model else None,
                  status=route.status_code or 200)


def _scalar(annotation) -> bool:
    """A query parameter a lane can read: one value (no lists, no models)."""
    optional = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    args = [a for a in typing.get_args(annotation) if a is not type(None)] if optional else [annotation]
    return all(not (inspect.isclass(a) and issubclass(a, BaseModel)) and typing.get_origin(a) not in (list, set, tuple)
               for a in args)


def _body_errors(exc: ValidationError) -> list[dict]:
    return [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]


def route_lane(*routes: _Route):
    """An ASGI lane class for `ServiceSpec.lanes` serving `routes`."""

    class RouteLane:
        def __init__(self, app, *, handlers: dict) -> None:
            self.app, self.handlers = app, handlers

        async def __call__(self, scope, receive, send) -> None:
            if scope["type"] == "http":
                for route in routes:
                    if scope["method"] == route.method and (found := route.pattern.match(scope["path"])):
                        return await self._serve(route, found.groupdict(), scope, receive, send)
            await self.app(scope, receive, send)

        async def _serve(self, route: _Route, path: dict, scope, receive, send) -> None:
            scope["route"] = route.label
            request = Request(scope, receive)
            try:
                kwargs = await _arguments(route, path, request)
                answer = await route.endpoint(**kwargs)
                content = route.out.dump_json(route.out.validate_python(answer)) if route.out else b"null"
                response = Response(content, status_code=route.status, media_type="application/json")
            except Exception as exc:
                handler = error_handler(self.handlers, exc)
                if handler is None:
                    raise  # the outermost error middleware answers with the app's 500 problem
                response = await handler(request, exc)
            await response(scope, receive, send)

    return RouteLane


def error_handler(handlers: dict, exc: Exception):
    """The app's handler for `exc` by its class's MRO, as Starlette picks one; None for the
    catch-all `Exception` handler, which the outermost error middleware applies (and logs)."""
    return next((handlers[c] for c in type(exc).__mro__ if c is not Exception and c in handlers), None)


async def _arguments(route: _Route, path: dict, request: Request) -> dict:
    ctx = request.app.state.ctx
    errors: list[dict] = []
    kwargs: dict[str, Any] = {}
    for name, adapter in route.path_types.items():
        try:
            kwargs[name] = adapter.validate_python(path[name])
        except ValidationError as exc:
            errors += [{**e, "loc": ("path", name)} for e in exc.errors(include_url=False)]
    if route.query is not None:
        names = route.query.model_fields
        try:
            kwargs.update(route.query.model_validate(
                {k: v for k, v in request.query_params.items() if k in names}).__dict__)
        except ValidationError as exc:
            errors += [{**e, "loc": ("query", *e["loc"])} | ({"input": None} if e["type"] == "missing" else {})
                       for e in exc.errors(include_url=False)]
    if "body" in route.params:
        raw = await request.body()
        try:
            kwargs["body"] = None if route.body_optional and not raw else route.body.model_validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise RequestValidationError(_body_errors(exc)) from None  # FastAPI reads the JSON first: a 400
            errors += _body_errors(exc)
    if "idempotency_key" in route.params:
        key = request.headers.get("idempotency-key")
        if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
            errors.append({"type": "string_too_long", "loc": ("header", "Idempotency-Key"), "input": key,
                           "msg": f"String should have at most {IDEMPOTENCY_KEY_MAX} characters",
                           "ctx": {"max_length": IDEMPOTENCY_KEY_MAX}})
        kwargs["idempotency_key"] = key
    if "principal" in route.params:  # before the body's errors, as FastAPI's dependency would
        kwargs["principal"] = await get_principal(request, request.headers.get("authorization"))
    if errors:
        raise RequestValidationError(errors)
    if "ctx" in route.params:
        kwargs["ctx"] = ctx
    if "rt" in route.params:
        kwargs["rt"] = ctx.runtime
    return kwargs
