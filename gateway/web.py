"""Server-rendered pages (Jinja2) and their static files; the pages call the gateway's API."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

PAGES = {
    "/login": "login.html",
}


def page(template: str):
    async def render(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, template, {})

    return render


for path, template in PAGES.items():
    router.add_api_route(path, page(template), methods=["GET"], response_class=HTMLResponse)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
