"""The pages' stylesheet and script, served from the package with cache headers.

Each file is read once at start-up.  Its URL carries a hash of its content
(``rsvp.css?v=<hash>``), so a browser may keep it for a year and still sees
a new version at once; a request without the current hash is cached briefly.
``ETag`` and ``If-None-Match`` save the body on a revalidation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
LONG = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class Assets:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.files: dict[str, Asset] = {}
        folder = resources.files("caldav_sched.web") / "static"
        for entry in folder.iterdir():
            suffix = "." + entry.name.rpartition(".")[2]
            if entry.is_file() and suffix in TYPES:
                body = entry.read_bytes()
                version = hashlib.sha256(body).hexdigest()[:16]
                self.files[entry.name] = Asset(body, TYPES[suffix], version)

    def url(self, name: str) -> str:
        """The versioned URL of a file, for the templates."""
        return f"{self.prefix}/static/{name}?v={self.files[name].version}"

    async def serve(self, request: web.Request) -> web.Response:
        asset = self.files.get(request.match_info["name"])
        if asset is None:
            raise web.HTTPNotFound()
        current = request.query.get("v") == asset.version
        headers = {"Cache-Control": LONG if current else SHORT, "ETag": asset.etag}
        if asset.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.content_type})
