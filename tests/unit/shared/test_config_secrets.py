"""A service refuses to serve other machines with the repository's development secrets (issue 10 item 12)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import check_secrets, Config, DEV_JWT_SECRET, dev_secrets_in_use, InsecureConfig, is_loopback
from shared.devstack import free_port

ROOT = Path(__file__).resolve().parents[3]
REAL = {"JWT_SECRET": "9f" * 32, "COMMUNITY_OPERATOR_KEY": "ab" * 24}


@pytest.mark.parametrize("bind, loopback", [
    ("127.0.0.1:8000", True), ("127.8.9.1:80", True), ("localhost:8001", True), ("[::1]:8000", True),
    ("unix:/run/app.sock", True), ("0.0.0.0:8000", False), ("[::]:8000", False), ("10.0.0.5:8000", False),
    ("example.org:80", False), (":8000", False), ("fd://3", False)])
def test_loopback_binds(bind, loopback):
    assert is_loopback(bind) is loopback


def test_which_development_values_are_in_use():
    assert dev_secrets_in_use(Config.from_env("community", env={})) == ["JWT_SECRET", "COMMUNITY_OPERATOR_KEY"]
    assert dev_secrets_in_use(Config.from_env("ledger", env={})) == ["JWT_SECRET"]
    assert dev_secrets_in_use(Config.from_env("community", env=REAL)) == []
    # The gateway verifies no token; an RS256 deployment does not use JWT_SECRET at all.
    assert dev_secrets_in_use(Config.from_env("gateway", env={})) == []
    assert dev_secrets_in_use(Config.from_env("ledger", env={"JWT_ALGORITHM": "RS256"})) == []
    assert dev_secrets_in_use(Config.from_env("ledger", env={"JWT_SECRET": DEV_JWT_SECRET})) == ["JWT_SECRET"]


def test_check_refuses_only_a_reachable_bind_with_a_development_value():
    dev = Config.from_env("community", env={})
    check_secrets(dev, ["127.0.0.1:8001"])  # `make run`: fine
    check_secrets(Config.from_env("community", env=REAL), ["0.0.0.0:8001"])  # a real deployment: fine
    with pytest.raises(InsecureConfig) as refused:
        check_secrets(dev, ["127.0.0.1:8001", "0.0.0.0:8001"])
    message = str(refused.value)
    assert "拒绝启动" in message and "refuses to start" in message
    assert "JWT_SECRET" in message and "COMMUNITY_OPERATOR_KEY" in message and "0.0.0.0:8001" in message


def test_gunicorn_refuses_to_start_with_the_dev_secret_on_every_interface():
    # on_starting runs before gunicorn binds anything, so this never listens on 0.0.0.0.
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "COMMUNITY_OPERATOR_KEY")}
    env["COMMUNITY_OPERATOR_KEY"] = REAL["COMMUNITY_OPERATOR_KEY"]  # only the JWT secret is left at its default
    started = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "shared" / "gunicorn_conf.py"), "--bind",
         f"0.0.0.0:{free_port()}", "services.ledger.app:create_app()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode == 3
    assert "ledger refuses to start: JWT_SECRET still has the development value" in started.stderr
    assert "Listening at" not in started.stderr and "Booting worker" not in started.stderr


def test_relay_linger_is_configured_in_milliseconds_within_bounds():
    assert Config.from_env("ledger", env={}).relay_linger_ms == 50
    assert Config.from_env("ledger", env={"RELAY_LINGER_MS": "100"}).relay_linger_ms == 100
    assert Config.from_env("ledger", env={"RELAY_LINGER_MS": "-5"}).relay_linger_ms == 0
    assert Config.from_env("ledger", env={"RELAY_LINGER_MS": "99999"}).relay_linger_ms == 1000
