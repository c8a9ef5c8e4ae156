"""Alembic wiring: each service has its own `migrations/` folder and its own version table,
and both backends run the same migrations."""
from __future__ import annotations

import asyncio
import importlib
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parent.parent


def migrations_dir(process: str) -> Path:
    base = ROOT / "gateway" if process == "gateway" else ROOT / "services" / process
    return base / "migrations"


def alembic_config(process: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(process)))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["process"] = process
    return cfg


_alembic_lock = threading.Lock()  # alembic's `context` is a module global: one run at a time


def upgrade(process: str, url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when inside an event loop (env.py runs its own loop)."""
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    with _alembic_lock:
        command.upgrade(alembic_config(process, url), revision)


def models_metadata(process: str):
    module = "gateway.models" if process == "gateway" else f"services.{process}.models"
    from shared.kernel_models import KernelBase

    return [KernelBase.metadata, importlib.import_module(module).Base.metadata]


def run_env(context) -> None:
    """Body of every service's migrations/env.py."""
    from sqlalchemy.ext.asyncio import create_async_engine

    config = context.config
    process = config.attributes.get("process") or Path(config.get_main_option("script_location")).parent.name
    url = config.get_main_option("sqlalchemy.url")
    opts = dict(target_metadata=models_metadata(process), version_table=f"alembic_version_{process}",
                render_as_batch=url.startswith("sqlite"), compare_type=True)

    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **opts)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection) -> None:
        context.configure(connection=connection, **opts)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())
