"""The gateway's own routes, one module per flow. The order counts: the sign-in and account
routes under /api/auth and /api/admin, and /api/notices, come before the catch-all proxy route `/api/{service}/…`."""
from __future__ import annotations

from gateway.api import auth, docs, notices, pages, proxy

routers = [docs.router, auth.router, notices.router, proxy.router]
page_routers = [pages.router]  # after the static files are mounted
