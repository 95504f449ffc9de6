"""The deployment keys: a wrong value names the key."""

from __future__ import annotations

import pytest

from caldav_sched.config import settings_from_dict
from caldav_sched.errors import ConfigError


@pytest.mark.parametrize(
    "data, message",
    [
        ({"server": {"proxy_user_header": "X-Remote-User"}}, "[server] proxy_user_header: set trusted_proxies"),
        ({"server": {"trusted_proxies": ["127.0.0.1"], "proxy_user_header": "X Remote"}},
         "[server] proxy_user_header: not a header name"),
        ({"server": {"monitoring_clients": ["localhost"]}}, "[server] monitoring_clients"),
        ({"server": {"shutdown_timeout": -1}}, "[server] shutdown_timeout: must not be negative"),
        ({"log": {"format": "xml"}}, "[log] format: must be one of text, json"),
        ({"log": {"level": "loud"}}, "[log] level: must be one of"),
        ({"log": {"requests": "yes"}}, "[log] requests: expected true or false"),
    ],
)
def test_a_wrong_deployment_value_names_the_key(data, message):
    with pytest.raises(ConfigError) as error:
        settings_from_dict(data)
    assert message in str(error.value)


def test_the_deployment_keys_parse():
    settings = settings_from_dict({
        "server": {"trusted_proxies": ["10.0.0.0/8"], "proxy_user_header": "X-Remote-User",
                   "monitoring_clients": ["192.0.2.0/24"], "shutdown_timeout": 5},
        "log": {"level": "warning", "format": "json", "requests": False},
    })
    assert settings.server.proxy_user_header == "X-Remote-User"
    assert settings.server.shutdown_timeout == 5.0
    assert settings.log.format == "json" and not settings.log.requests


@pytest.mark.parametrize(
    "imap, message",
    [
        ({"host": "imap.example.com"}, "[imap] username: needed"),
        ({"host": "h", "username": "u", "security": "ssl"}, "[imap] security: must be one of"),
        ({"host": "h", "username": "u", "auth": "plain"}, "[imap] auth: must be one of login, xoauth2"),
        ({"host": "h", "username": "u", "password": "p", "password_command": "cat p"},
         "set one of them, not both"),
        ({"host": "h", "username": "u", "processed_mailbox": "INBOX"}, "must differ"),
        ({"host": "h", "username": "u", "mailbox": "a*"}, "[imap] mailbox: not a mailbox name"),
        ({"host": "h", "username": "u", "poll_interval": 0}, "[imap] poll_interval and timeout"),
    ],
)
def test_a_wrong_imap_value_names_the_key(imap, message):
    with pytest.raises(ConfigError) as error:
        settings_from_dict({"imap": imap})
    assert message in str(error.value)


def test_no_imap_consumer_without_a_host():
    settings = settings_from_dict({"imap": {"username": "calendar@example.com"}})
    assert settings.imap.host == "" and settings.imap.port == 993 and settings.imap.idle
