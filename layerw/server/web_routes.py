"""HTTP routes for the browser client: the game list page, the play page, and the client's files.

    GET /                  a page listing the games, each a link to /play/GAME
    GET /play/{game}       the play page (one canvas); ?channel=, ?room=, ?ticks=, ?renderer= ...
    GET /web/...           the client's ES modules (package data, no bundler)
    GET /font.png          the built-in font atlas, shared with the native renderer
    GET /shaders.wgsl      the WGSL shaders, shared with the native renderer
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from layerw.store.channel import check_name

WEB = Path(__file__).resolve().parent.parent / "web"
GFX = Path(__file__).resolve().parent.parent / "gfx"
NO_STORE = "no-cache"
INDEX_STYLE = ("body{font:16px system-ui,sans-serif;background:#111;color:#ddd;margin:2em}"
               "a{color:#8cf}a:visited{color:#c9f}li{margin:.4em 0}span{color:#888;font-size:90%}")


def web_routes(game_names: Callable[[], list[str]]) -> list[BaseRoute]:
    page = (WEB / "play.html").read_text()

    async def index(request: Request) -> Response:
        rows = "".join(
            f'<li><a href="/play/{html.escape(g)}">{html.escape(g)}</a>'
            f' <span>· <a href="/play/{html.escape(g)}?room=lobby">join the {html.escape(g)} lobby room</a></span></li>'
            for g in game_names())
        body = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Layer-W games</title>"
                f"<style>{INDEX_STYLE}</style><body><h1>Layer-W</h1><p>Games published on this server:</p>"
                f"<ul>{rows or '<li>none yet: <code>layerw publish BUILD_DIR --store …</code></li>'}</ul></body></html>")
        return HTMLResponse(body, headers={"Cache-Control": NO_STORE})

    async def play(request: Request) -> Response:
        game = request.path_params["game"]
        try:
            check_name(game, "game")
        except ValueError as e:
            return HTMLResponse(html.escape(str(e)), 400)
        if game not in game_names():
            return HTMLResponse(f"no game named {html.escape(game)} here", 404)
        # The client's modules live under /web/; the page names its game for main.js.
        head = f'<base href="/web/">\n<meta name="layerw-game" content="{html.escape(game)}">\n'
        return HTMLResponse(page.replace("<head>\n", "<head>\n" + head, 1), headers={"Cache-Control": NO_STORE})

    def shared(name: str, media_type: str) -> Route:
        async def serve(request: Request) -> Response:
            return FileResponse(GFX / name, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
        return Route(f"/{name}", serve)

    return [
        Route("/", index),
        Route("/play/{game}", play),
        shared("font.png", "image/png"),
        shared("shaders.wgsl", "text/plain; charset=utf-8"),
        Mount("/web", StaticFiles(directory=WEB), name="web"),
    ]
