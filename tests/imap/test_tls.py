"""The mailbox over implicit TLS and over STARTTLS (Dovecot with a self-signed
certificate, trusted through SSL_CERT_FILE as an operator's own CA would be)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import ServerThread, make_settings
from tests.imap.conftest import FAILED, MailboxView, imap_table
from tests.imap.dovecot import OPENSSL
from tests.imap.helpers import eventually, healthz, imap_check, newsletter

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl makes the test certificate")


def check(tmp_path: Path, table: dict, trust: Path | None) -> subprocess.CompletedProcess:
    # A missing SSL_CERT_FILE leaves only the system's CAs, which do not know the test's.
    return imap_check(tmp_path, table, env={"SSL_CERT_FILE": str(trust) if trust else "/nonexistent"})


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_check_over_tls(tmp_path, dovecot_tls, security):
    port = dovecot_tls.tls_port if security == "tls" else dovecot_tls.port
    table = imap_table(dovecot_tls, security=security, port=port)
    done = check(tmp_path, table, trust=dovecot_tls.cert)
    assert done.returncode == 0, done.stderr
    assert f"({security})" in done.stdout
    # An untrusted certificate is a clear TLS problem, not a traceback.
    refused = check(tmp_path, table, trust=None)
    assert refused.returncode == 1
    assert "IMAP tls problem" in refused.stderr and "certificate" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_consumer_reads_over_starttls(tmp_path, dovecot_tls, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot_tls.cert))
    server = ServerThread(make_settings(tmp_path, imap=imap_table(dovecot_tls, security="starttls")))
    server.start()
    try:
        MailboxView(dovecot_tls).append(newsletter())
        MailboxView(dovecot_tls).wait_for(FAILED, 1)
        assert eventually(lambda: healthz(server.url)["imap"]["connected"])
    finally:
        server.stop()
