"""The service app factory: every service gets the same edge, lifespan and operations routes."""
from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from shared.auth import Principal, TokenVerifier, require_role
from shared.clock import Clock, system_clock
from shared.consumer import ConsumerRunner
from shared.db import Database
from shared.errors import Unauthorized
from shared.inbox import Subscription, replay_dead_letter
from shared.kernel_models import DeadLetterRow
from shared.observability import Metrics, RequestContextMiddleware, configure_logging
from shared.outbox import KafkaLink, OutboxRelay
from shared.periodic import PeriodicRunner, PeriodicTask
from shared.problem import install_problem_handlers
from shared.settings import Settings, get_settings

log = logging.getLogger("youfu.app")

# A list's offset: PostgreSQL refuses one past bigint (a 500 once), and no list is longer than this.
MAX_OFFSET = 1_000_000
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="跳过的条数（分页）")]


@dataclass
class ServiceContext:
    name: str
    settings: Settings
    db: Database
    verifier: TokenVerifier | None
    metrics: Metrics
    relay: OutboxRelay | None = None
    link: KafkaLink | None = None
    consumers: list[ConsumerRunner] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    clock: Clock = system_clock  # the one clock: tests hand the app another
    # the service's own typed parts (its `runtime.py` says what), set by its start-up hook
    runtime: Any = None
    periodic: PeriodicRunner = field(default_factory=PeriodicRunner)

    def now(self):
        return self.clock()

    @property
    def source(self) -> str:
        return f"/youfu/{self.name}"


@dataclass
class ServiceSpec:
    name: str
    routers: list[APIRouter]
    title: str = ""
    subscriptions: Callable[[ServiceContext], list[Subscription]] | None = None
    on_startup: list[Callable[[ServiceContext], Awaitable[None]]] = field(default_factory=list)
    on_shutdown: list[Callable[[ServiceContext], Awaitable[None]]] = field(default_factory=list)
    health_details: Callable[[ServiceContext], Awaitable[dict]] | None = None
    periodic: list[PeriodicTask] = field(default_factory=list)  # started after start-up
    own_docs: bool = True  # the gateway serves a merged document instead
    # the consumer group (default: the service's name). A process whose every replica must read every
    # partition (the gateway's notices) names one per replica.
    consumer_group: Callable[[ServiceContext], str] | None = None
    # pure ASGI lanes, each `lane(app, handlers=…)`, inside the request-id and metrics middleware and
    # around FastAPI's routing: a hot route served without the framework's per-request machinery
    # (the gateway's proxy, D67). `handlers`: the app's exception handlers, so errors look the same.
    lanes: list[Callable[..., Any]] = field(default_factory=list)


def broker_reachable(bootstrap: str, timeout_s: float = 0.5) -> bool:
    if not bootstrap:
        return False
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            return True
    except OSError:
        return False


def create_service_app(spec: ServiceSpec, settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = Metrics(spec.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_logging(spec.name, json_logs=settings.log_json, level=settings.log_level)
        db = Database(settings.database_url(spec.name), pool_size=settings.db_pool_size)
        pem = settings.public_key_pem
        ctx = ServiceContext(spec.name, settings, db, TokenVerifier(pem) if pem else None, metrics,
                             clock=clock or system_clock)
        app.state.ctx = ctx
        if settings.kafka_bootstrap:
            ctx.link = KafkaLink(settings.kafka_bootstrap, client_id=f"youfu-{settings.instance(spec.name)}")
            ctx.relay = OutboxRelay(db, ctx.link, poll_s=settings.outbox_poll_s, linger_s=settings.outbox_linger_s,
                                    retention_s=settings.outbox_retention_s,
                                    on_sent=lambda n: metrics.events_published.labels(spec.name).inc(n),
                                    topic_prefix=settings.topic_prefix)
        for hook in spec.on_startup:
            await hook(ctx)
        if ctx.relay:
            ctx.relay.start()
        ctx.subscriptions = spec.subscriptions(ctx) if spec.subscriptions else []
        if settings.kafka_bootstrap:
            for sub in ctx.subscriptions:
                sub.max_attempts = settings.consumer_max_attempts
            if ctx.subscriptions:
                group = spec.consumer_group(ctx) if spec.consumer_group else spec.name
                runner = ConsumerRunner(db, settings.kafka_bootstrap, ctx.subscriptions,
                                        client_id=f"youfu-{settings.instance(spec.name)}",
                                        group=group,
                                        on_outcome=lambda t, o: metrics.events_consumed.labels(spec.name, t, o).inc(),
                                        topic_prefix=settings.topic_prefix,
                                        idle_after_s=settings.consumer_idle_after_s)
                runner.start()
                ctx.consumers.append(runner)
        ctx.periodic.start(spec.periodic, ctx)
        log.info("%s started (instance %s)", spec.name, settings.instance(spec.name))
        # what start-up built (the app, its models, the metadata) lives as long as the process: out
        # of the collector's way, a full collection under load scans only what requests left behind
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await ctx.periodic.stop()
            await asyncio.gather(*(c.stop() for c in ctx.consumers))
            for hook in spec.on_shutdown:
                await hook(ctx)
            if ctx.relay:
                await ctx.relay.stop()
            await db.dispose()
            log.info("%s stopped", spec.name)

    docs = {} if spec.own_docs else {"openapi_url": None, "docs_url": None, "redoc_url": None}
    app = FastAPI(title=spec.title or f"Youfu {spec.name}", lifespan=lifespan, version="1.0.0", **docs)
    for lane in spec.lanes:  # added first: inside RequestContextMiddleware
        app.add_middleware(lane, handlers=app.exception_handlers)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    install_problem_handlers(app)
    app.include_router(probe_router(spec.name, spec.health_details))
    app.include_router(ops_router)
    for router in spec.routers:
        app.include_router(router)
    return app


# async, though they do no I/O: FastAPI runs a plain `def` dependency in a worker thread, and
# those hops were a visible share of every request's CPU (bench/ordering.py under py-spy)
async def get_ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


async def get_principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    ctx: ServiceContext = request.app.state.ctx
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("请先登录")
    if ctx.verifier is None:
        raise Unauthorized("服务未配置公钥，无法验证登录")
    return ctx.verifier.verify(authorization[7:].strip())


Ctx = Annotated[ServiceContext, Depends(get_ctx)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
async def _idempotency_key(key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None) -> str | None:
    return key


IdempotencyKey = Annotated[str | None, Depends(_idempotency_key)]


def probe_router(service: str, details=None) -> APIRouter:
    router = APIRouter(tags=["probes"])

    @router.get("/health")
    async def health(ctx: Ctx) -> dict:
        body = {"status": "ok", "service": service}
        if details is not None:
            body |= await details(ctx)
        return body

    @router.get("/ready")
    async def ready(ctx: Ctx):
        database = await ctx.db.ping()
        broker = await asyncio.to_thread(broker_reachable, ctx.settings.kafka_bootstrap)
        body = {"service": service, "database": "ok" if database else "down",
                "broker": "ok" if broker else ("not_configured" if not ctx.settings.kafka_bootstrap else "down")}
        # A broker outage delays events but must not take the service out of rotation (the outbox
        # holds them), so only the database decides readiness; the broker's state is reported.
        body["status"] = "not_ready" if not database else ("ready" if broker or not ctx.settings.kafka_bootstrap
                                                             else "degraded")
        return JSONResponse(body, status_code=200 if database else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics(ctx: Ctx):
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


ops_router = APIRouter(prefix="/ops", tags=["operations"])


@ops_router.get("/dead-letters")
async def list_dead_letters(ctx: Ctx, principal: CurrentPrincipal) -> list[dict]:
    require_role(principal, "admin")
    async with ctx.db.sessions() as s:
        rows = (await s.execute(sa.select(DeadLetterRow).order_by(DeadLetterRow.created_at.desc()).limit(500))).scalars()
        return [{"id": str(r.id), "consumer": r.consumer, "event_id": r.event_id, "type": r.type, "topic": r.topic,
                 "error": r.error.splitlines()[-1] if r.error else "", "attempts": r.attempts,
                 "created_at": r.created_at, "replayed_at": r.replayed_at} for r in rows]


@ops_router.post("/dead-letters/{letter_id}/replay")
async def replay(letter_id: str, ctx: Ctx, principal: CurrentPrincipal) -> dict:
    import uuid

    require_role(principal, "admin")
    try:
        lid = uuid.UUID(letter_id)
    except ValueError:
        from shared.errors import NotFound

        raise NotFound("没有这条死信记录") from None
    return {"result": await replay_dead_letter(ctx.db, ctx.subscriptions, lid)}


@ops_router.get("/outbox")
async def outbox_status(ctx: Ctx, principal: CurrentPrincipal) -> dict:
    require_role(principal, "admin")
    return {"pending": await ctx.relay.pending_count() if ctx.relay else None}
