"""The supervisord configuration is generated from one process list; worker liveness says when events flow."""
from __future__ import annotations

import configparser
from datetime import timedelta
from pathlib import Path

from shared.config import WEB_ENV
from shared.devstack.supervise import Layout, programs, render_config
from shared.mongo import utcnow
from shared.worker import flowing, worker_roles


def _parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def test_every_program_is_restarted_and_data_starts_first_and_stops_last(tmp_path):
    layout = Layout.free(tmp_path)
    conf = _parse(render_config(layout))
    names = [s.split(":", 1)[1] for s in conf.sections() if s.startswith("program:")]
    assert names == [p.name for p in programs(layout)]
    assert set(names) == {"kafka", "mongod", *layout.services,
                          *(f"{s}-workers" for s in layout.services if worker_roles(s))}
    for name in names:
        section = conf[f"program:{name}"]
        assert section["autorestart"] == "true" and int(section["startretries"]) >= 10
        assert section["stdout_logfile"] == str(layout.log_dir / f"{name}.log")
    priority = {name: int(conf[f"program:{name}"]["priority"]) for name in names}
    assert max(priority["kafka"], priority["mongod"]) < min(priority[s] for s in layout.services)
    assert max(priority[s] for s in layout.services) < min(p for n, p in priority.items() if n.endswith("-workers"))
    # Every application process is pointed at this layout's broker, replica set and ports (loopback only).
    ledger = conf["program:ledger"]
    assert ledger["command"].endswith("-m shared.webserver ledger")  # granian or gunicorn, as WEB_ENV says
    assert f'BIND="127.0.0.1:{layout.service_ports["ledger"]}"' in ledger["environment"]
    assert f'MONGO_URL="{layout.mongo_url}"' in ledger["environment"]
    assert f'KAFKA_BOOTSTRAP="{layout.kafka_bootstrap}"' in ledger["environment"]
    assert all(f'{k}="{v}"' in ledger["environment"] for k, v in WEB_ENV["ledger"].items())
    assert conf["program:ledger-workers"]["command"].endswith("shared.worker ledger relay consumer scheduler")
    assert f'MONGO_PORT="{layout.mongo_port}"' in conf["program:mongod"]["environment"]


def test_the_default_layout_is_make_runs():
    layout = Layout()
    assert (layout.kafka_port, layout.mongo_port, layout.service_ports["gateway"]) == (9092, 27017, 8000)
    assert layout.run_dir == Path(layout.data_dir).parent / "run"


def test_worker_roles_follow_the_service_modules():
    assert worker_roles("gateway") == ()
    assert worker_roles("community") == ("relay", "scheduler")  # rules simulation jobs
    assert worker_roles("matching") == ("relay", "consumer")
    assert worker_roles("ledger") == ("relay", "consumer", "scheduler")


def test_flowing_needs_a_fresh_beat_the_lease_and_partitions():
    now = utcnow()
    doc = {"roles": ["relay", "consumer"], "beat_at": now, "relay_lease": True, "consumer_partitions": 3}
    assert flowing(doc, now)
    assert not flowing({**doc, "relay_lease": False}, now)
    assert not flowing({**doc, "consumer_partitions": 0}, now)
    assert not flowing({**doc, "beat_at": now - timedelta(seconds=30)}, now)
    assert flowing({"roles": ["scheduler"], "beat_at": now}, now)
    assert not flowing(None, now)
