"""docs/deploy/tls.md and nginx-acme.conf: challenges served, the rest sent to HTTPS.

The port-80 file runs in a real nginx (its listen address and webroot
replaced, each exactly once): a challenge file the ACME client wrote is
served as it is, every other path is redirected to the same path over
HTTPS.  The walk-through's commands must name the webroot of that file and
the certificate paths of nginx.conf, so the three files cannot drift apart.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

import pytest

from tests.conftest import free_port
from tests.deploy.nginx import ROOT, needs_nginx, run_site

DEPLOY = ROOT / "docs" / "deploy"
ACME = DEPLOY / "nginx-acme.conf"
WALKTHROUGH = DEPLOY / "tls.md"
WEBROOT = "/var/www/acme"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Host": "cal.example.com"})
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@needs_nginx
def test_the_port_80_side_serves_challenges_and_redirects_the_rest(tmp_path):
    webroot = tmp_path / "acme"
    challenge = webroot / ".well-known" / "acme-challenge" / "Zm9vYmFy-token"
    challenge.parent.mkdir(parents=True)
    challenge.write_text("Zm9vYmFy-token.key-authorization")
    port = free_port()
    text = ACME.read_text()
    for old, new in (("listen 80;", f"listen 127.0.0.1:{port};"),
                     (f"root {WEBROOT};", f"root {webroot};")):
        assert text.count(old) == 1, f"nginx-acme.conf no longer has {old!r} once"
        text = text.replace(old, new)
    nginx = run_site(tmp_path / "nginx", text, port)
    try:
        base = f"http://127.0.0.1:{port}"
        status, headers, body = fetch(base + "/.well-known/acme-challenge/Zm9vYmFy-token")
        assert (status, body) == (200, b"Zm9vYmFy-token.key-authorization")
        for path in ("/caldav/", "/.well-known/caldav", "/caldav/home/alice/calendar/?x=1"):
            status, headers, _ = fetch(base + path)
            assert status == 301, path
            assert headers["Location"] == "https://cal.example.com" + path
        status, _, _ = fetch(base + "/.well-known/acme-challenge/missing")
        assert status == 404, "a missing challenge is not redirected either"
    finally:
        nginx.stop()


def test_the_walkthrough_names_the_paths_the_nginx_files_use():
    walkthrough = WALKTHROUGH.read_text()
    assert f"root {WEBROOT};" in ACME.read_text()
    assert f"certbot certonly --webroot -w {WEBROOT} -d cal.example.com" in walkthrough
    assert f"acme.sh --issue --server letsencrypt -d cal.example.com -w {WEBROOT}" in walkthrough
    https_side = (DEPLOY / "nginx.conf").read_text()
    for line in re.findall(r"^\s*(ssl_certificate(?:_key)?\s+\S+;)", https_side, re.MULTILINE):
        path = line.split()[1].rstrip(";")
        assert path in walkthrough, f"tls.md does not say where {path} comes from"
    for line in re.findall(r"^(ssl_certificate(?:_key)?\s+(\S+);)", walkthrough, re.MULTILINE):
        assert line[1] in walkthrough.split("acme.sh --install-cert", 1)[1], line
    assert "cp docs/deploy/nginx-acme.conf" in walkthrough
    assert "cp docs/deploy/nginx.conf" in walkthrough
