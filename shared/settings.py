"""Settings from the environment (prefix YOUFU_). Secrets are read from env or files, never code."""
from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("assessment", "providers", "orders", "vouchers")
PROCESSES = ("gateway", *SERVICES)
DEFAULT_PORTS = {"gateway": 8000, "assessment": 8001, "providers": 8002, "orders": 8003, "vouchers": 8004}
# One topic per producing service, plus the counters' meals: the orders service's busiest stream
# (tens of thousands at the lunch peak) that no other service reads, on a topic of its own so the
# consumers of youfu.orders do not fetch and skip it (D67).
TOPICS = {name: f"youfu.{name}" for name in SERVICES} | {"meals": "youfu.meals"}
TOPIC_PRODUCER = {topic: "orders" if name == "meals" else name for name, topic in TOPICS.items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="YOUFU_", extra="ignore")

    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    kafka_bootstrap: str = ""  # empty: no broker configured; events wait in the outbox
    topic_prefix: str = ""  # namespaces every topic on a shared broker (a staging copy, or one test module)
    log_json: bool = True
    log_level: str = "INFO"
    # Which replica this process is (`youfu up --replicas N` sets gateway-2, orders-1 …; in
    # Kubernetes the pod name). Names the process to the broker (client ids) and in logs; consumer
    # groups stay per service, except the gateway's notices, one group per replica (gateway/consumers.py:
    # empty, the host and port, so a restarted replica keeps its group). Empty: the host name and process id.
    instance_id: str = ""

    jwt_public_key: str = ""  # PEM; falls back to var/keys/jwt_public.pem
    jwt_private_key: str = ""  # PEM; gateway only; falls back to var/keys/jwt_private.pem
    pii_key: str = ""  # Fernet key; falls back to var/keys/pii.key
    service_token: str = ""  # this service's own token for calls to the others

    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 86400
    login_failures_per_phone: int = 5  # within login_failure_window_s
    login_failures_per_address: int = 30
    login_failure_window_s: int = 300
    writes_per_minute: int = 120  # per principal, at the gateway
    max_body_bytes: int = 1_048_576
    # the lists other bureaus send (issue 20: up to 200,000 rows, a file or JSON) pass the gateway
    # with a larger body, and their dry run or apply may take a minute (gateway/api/proxy.py)
    max_upload_bytes: int = 32 * 1_048_576
    upload_timeout_s: float = 120.0
    outbox_poll_s: float = 1.0
    # after a pass that sent two events or more the relay waits this long before the next, so a busy
    # service sends its events in batches (one claim, one commit, one produce request for many)
    # instead of a pass per commit; an idle one sends its first event at once (shared/outbox.py).
    # 30 ms, not 10: 15-20 % more voucher-paid meals a second at 5 clients (bench/meals.py A/B, D71)
    outbox_linger_s: float = 0.03
    outbox_retention_s: int = 86400
    consumer_max_attempts: int = 5
    consumer_idle_after_s: float = 5.0  # then fetches are held 250 ms, not 25 (shared/consumer.py)
    http_timeout_s: float = 5.0
    notices_heartbeat_s: float = 15.0  # a comment line on every open notices stream this often
    # the gateway cuts every notices inbox to its newest 50 this often (gateway/notices.py
    # InboxPrune; 0: never). Between passes the reads still show only the newest 50.
    notices_prune_s: float = 60.0
    # PostgreSQL connections per process, opened as needed and then kept: five processes at 20 use
    # 100, which is PostgreSQL's default max_connections; raise both together
    db_pool_size: int = 20
    service_urls: dict[str, str] = {}  # explicit per-service base URLs (tests); env YOUFU_<NAME>_URL otherwise
    database_urls: dict[str, str] = {}  # explicit per-process URLs (tests); env YOUFU_<NAME>_DATABASE_URL otherwise

    def instance(self, process: str) -> str:
        """This replica's name: `instance_id`, else `<process>@<host>-<pid>` (unique on a machine and across pods)."""
        return self.instance_id or f"{process}@{socket.gethostname()}-{os.getpid()}"

    def database_url(self, service: str) -> str:
        # One URL per service (YOUFU_ORDERS_DATABASE_URL …); embedded default: a SQLite file each.
        url = self.database_urls.get(service) or os.environ.get(f"YOUFU_{service.upper()}_DATABASE_URL")
        if url:
            return url
        return f"sqlite+aiosqlite:///{(self.var_dir / f'{service}.db').resolve()}"

    def port(self, process: str) -> int:
        return int(os.environ.get(f"YOUFU_{process.upper()}_PORT", DEFAULT_PORTS[process]))

    def service_url(self, service: str) -> str:
        return (self.service_urls.get(service) or os.environ.get(f"YOUFU_{service.upper()}_URL")
                or f"http://127.0.0.1:{self.port(service)}")

    def _key(self, value: str, filename: str) -> str:
        if value:
            return value
        path = self.var_dir / "keys" / filename
        return path.read_text() if path.exists() else ""

    @property
    def public_key_pem(self) -> str:
        return self._key(self.jwt_public_key, "jwt_public.pem")

    @property
    def private_key_pem(self) -> str:
        return self._key(self.jwt_private_key, "jwt_private.pem")

    @property
    def pii_key_value(self) -> str:
        return self._key(self.pii_key, "pii.key").strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
