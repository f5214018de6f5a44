"""The web role's command line: the HTTP server shared.config.WEB_ENV names, on the address and threads set."""
from __future__ import annotations

import sys

import pytest

from shared import webserver
from shared.config import WEB_ENV


def test_gunicorn_is_the_default_with_the_shared_settings_and_problem_answers():
    argv = webserver.command("community", {"PORT": "8001"})
    assert argv == [sys.executable, "-m", "gunicorn", "-c", "python:shared.gunicorn_conf", "--bind", "127.0.0.1:8001",
                    "services.community.app:create_app()"]


def test_the_ledger_runs_granian_with_its_processes_and_threads():
    argv = webserver.command("ledger", {**WEB_ENV["ledger"], "BIND": "0.0.0.0:8004", "LOG_LEVEL": "WARNING"})
    assert argv[:3] == [sys.executable, "-m", "granian"] and argv[-1] == "shared.webserver:granian_app"
    options = dict(zip(argv[3:-1], argv[4:-1]))  # each option with the word after it
    assert options["--interface"] == "wsgi" and "--factory" in argv
    assert (options["--host"], options["--port"]) == ("0.0.0.0", "8004")
    assert (options["--workers"], options["--blocking-threads"]) == ("1", WEB_ENV["ledger"]["WEB_THREADS"])
    assert options["--log-level"] == "warning"
    v6 = webserver.command("ledger", {"WEB_SERVER": "granian", "BIND": "[::1]:8004"})
    assert v6[v6.index("--host") + 1] == "::1"


def test_an_unknown_server_or_an_address_granian_cannot_take_is_refused_before_starting(capsys):
    with pytest.raises(ValueError, match="WEB_SERVER"):
        webserver.command("ledger", {"WEB_SERVER": "uwsgi"})
    with pytest.raises(ValueError, match="host:port"):
        webserver.command("ledger", {"WEB_SERVER": "granian", "BIND": "unix:/tmp/ledger.sock"})
    assert webserver.main([]) == 2


def test_a_development_secret_on_a_public_address_is_refused(monkeypatch, capsys):
    for name in ("JWT_SECRET", "LEDGER_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WEB_SERVER", "granian")
    monkeypatch.setenv("BIND", "0.0.0.0:8004")
    monkeypatch.setattr(webserver.os, "execv", lambda *a: pytest.fail("must not start"))
    assert webserver.main(["ledger"]) == 3
    assert "refuses to start" in capsys.readouterr().err
