"""The pages people use, rendered on the server by the serving app: one set of Jinja2 templates (autoescaped),
charts drawn as inline SVG (`pipeline.web.charts`), and live regions that refresh themselves.

A live region is a fragment the page embeds and a URL that serves the same fragment again. Its wrapper carries a
digest of the fragment; the page's one small script fetches the URL every few seconds and swaps the region only
when the digest changed, so a list the stream sensor re-scored appears without a reload and focus is not lost
while nothing changed. Without JavaScript the pages still work; they just do not refresh themselves."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.requests import Request

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def fragment(request: Request, template: str, context: dict) -> Markup:
    """A live region's content: `template` rendered, wrapped with its digest."""
    html = TEMPLATES.get_template(template).render({"request": request, **context})
    digest = hashlib.sha256(html.encode()).hexdigest()[:16]
    return Markup(f'<div class="live-content" data-digest="{digest}">') + Markup(html) + Markup("</div>")
