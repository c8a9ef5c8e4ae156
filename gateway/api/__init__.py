"""The gateway's own routes, one module per flow, and the proxy lane: `/api/{service}/…` of the
four services never reaches these routers (`proxy.ProxyLane`, a pure ASGI lane in front of them)."""
from __future__ import annotations

from gateway.api import auth, dashboard, docs, hotline, notices, pages, proxy

routers = [docs.router, auth.router, hotline.router, dashboard.router, notices.router]
lanes = [proxy.ProxyLane]
page_routers = [pages.router]  # after the static files are mounted
