"""The framework's ceiling: the least an aiohttp server can do per request.

PUT (with If-None-Match / If-Match), GET and DELETE of bytes held in a dict,
behind the same Basic authentication check (a string comparison).  Nothing
is parsed, indexed or stored on disk, so its figures are what aiohttp itself
costs on this machine; the DAV reports are not served.  It runs on the
same event loop as caldav_sched's daemon by default (uvloop, when
installed), so the two are measured alike.

    python -m bench.ceiling --port 8000 --user bench --password secret
"""

from __future__ import annotations

import argparse
import base64
import hashlib

from aiohttp import web


def make_app(user: str, password: str) -> web.Application:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    objects: dict[str, tuple[bytes, str]] = {}

    async def handle(request: web.Request) -> web.Response:
        if request.method == "OPTIONS":
            return web.Response(headers={"DAV": "1"})
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="ceiling"'})
        path = request.path
        current = objects.get(path)
        if request.method == "GET":
            if current is None:
                return web.Response(status=404)
            return web.Response(body=current[0], headers={"ETag": current[1],
                                                           "Content-Type": "text/calendar"})
        if request.method == "PUT":
            if request.headers.get("If-None-Match") == "*" and current is not None:
                return web.Response(status=412)
            match = request.headers.get("If-Match")
            if match is not None and (current is None or current[1] != match):
                return web.Response(status=412)
            body = await request.read()
            etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
            objects[path] = (body, etag)
            return web.Response(status=204 if current else 201, headers={"ETag": etag})
        if request.method == "DELETE":
            if objects.pop(path, None) is None:
                return web.Response(status=404)
            return web.Response(status=204)
        return web.Response(status=501)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--event-loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    loop = None
    if args.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            loop = uvloop.new_event_loop()
    web.run_app(make_app(args.user, args.password), host="127.0.0.1", port=args.port,
                access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
