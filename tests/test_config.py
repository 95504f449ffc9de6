"""The configuration: the example file is the defaults, and mistakes name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from caldav_sched.config import Settings, load_settings, settings_from_dict
from caldav_sched.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_example_documents_every_key_with_its_default():
    data = tomllib.loads(EXAMPLE.read_text())
    assert settings_from_dict(data) == Settings()
    defaults = Settings()
    for table, values in data.items():
        assert set(values) == set(vars(getattr(defaults, table))), table


def test_no_file_means_the_embedded_default(monkeypatch):
    monkeypatch.delenv("CALDAV_SCHED_CONFIG", raising=False)
    settings = load_settings(None)
    assert settings.server.port == 5232
    assert settings.mail.transport == "file"
    assert settings.storage.path.startswith("./var/")


def test_environment_variable_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 8080\nbase_path = "/cal/"\n')
    monkeypatch.setenv("CALDAV_SCHED_CONFIG", str(path))
    settings = load_settings(None)
    assert settings.server.port == 8080
    assert settings.server.base_path == "/cal"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[server]\nprot = 1\n", "[server] prot: unknown key"),
        ("[sever]\nport = 1\n", "unknown table [sever]"),
        ("[server]\nport = 'eighty'\n", "[server] port: expected an integer"),
        ("[server]\nport = 70000\n", "[server] port: must be 1-65535"),
        ("[mail]\ntransport = 'pigeon'\n", "[mail] transport: must be one of smtp, file"),
        ("[smtp]\nsecurity = 'ssl'\n", "[smtp] security: must be one of none, starttls, tls"),
        ("[server]\ntrusted_proxies = ['nonsense']\n", "[server] trusted_proxies"),
        ("[server]\nbase_path = 'cal'\n", "[server] base_path"),
        ("[server]\nbase_path = '/cal{0}'\n", "[server] base_path"),
        ("[queue]\nbackoff_base = -1\n", "[queue] backoff_base: must not be negative"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_a_wrong_key_or_value_names_the_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "absent.toml")
