"""The gateway's own routes, one module per flow. The order counts: the sign-in and account
routes under /api/auth, /api/admin, /api/hotline and /api/notices come before the catch-all proxy route
`/api/{service}/…`."""
from __future__ import annotations

from gateway.api import auth, dashboard, docs, hotline, notices, pages, proxy

routers = [docs.router, auth.router, hotline.router, dashboard.router, notices.router, proxy.router]
page_routers = [pages.router]  # after the static files are mounted
