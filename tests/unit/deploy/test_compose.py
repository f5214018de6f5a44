"""docker-compose.yml against the code: every service role present, env names the code reads, real probes."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def app_services(compose) -> dict[str, dict]:
    return {name: spec for name, spec in compose["services"].items() if "build" in spec}


def test_every_role_of_every_service_runs_and_nothing_else(compose, roles):
    expected = {f"{service}-{role}" for service, service_roles in roles.items() for role in service_roles}
    running = {name for name, spec in app_services(compose).items() if spec["command"][0] in
               ("web", "relay", "consumer", "scheduler")}
    assert running == expected
    for name in expected:
        spec = compose["services"][name]
        service, role = name.rsplit("-", 1)
        assert spec["build"]["args"]["SERVICE"] == service and spec["command"] == [role]
        assert spec["build"]["dockerfile"] == "docker/Dockerfile" and spec["build"]["context"] == "."
        assert spec["image"].startswith(f"timebank/{service}:")


def test_exchange_runs_only_once_it_has_code(compose, roles):
    assert ("exchange-web" in compose["services"]) == ("exchange" in roles)


def test_official_kafka_in_kraft_mode_at_the_version_make_run_uses(compose):
    kafka = compose["services"]["kafka"]
    pom = ET.parse(ROOT / "infra" / "kafka" / "pom.xml").getroot()
    version = pom.find("m:properties/m:kafka.version", {"m": "http://maven.apache.org/POM/4.0.0"}).text
    assert kafka["image"] == f"apache/kafka:{version}"
    env = kafka["environment"]
    assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


def test_mongodb_runs_as_a_replica_set_that_initiates_itself(compose):
    mongo = compose["services"]["mongo"]
    assert mongo["image"].startswith("mongo:")
    assert mongo["command"][mongo["command"].index("--replSet") + 1] == "rs0"
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check and "isWritablePrimary" in check and "mongo:27017" in check


def test_data_lives_in_named_volumes(compose):
    declared = set(compose["volumes"])
    for name, mount in (("kafka", "/var/lib/kafka/data"), ("mongo", "/data/db")):
        volumes = compose["services"][name]["volumes"]
        assert any(v.split(":")[0] in declared and v.split(":")[1] == mount for v in volumes), name
    assert compose["services"]["kafka"]["environment"]["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_environment_names_are_the_ones_the_code_reads(compose, env_names):
    for name, spec in app_services(compose).items():
        if name == "demo":
            continue  # the demo is a client: its own variables, checked in test_demo_client_settings
        unknown = set(spec.get("environment", {})) - env_names
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_backends_reach_mongodb_kafka_and_the_token_key(compose, roles):
    for service, service_roles in roles.items():
        if service == "gateway":
            continue
        for role in service_roles:
            env = compose["services"][f"{service}-{role}"]["environment"]
            assert env["MONGO_URL"].startswith("mongodb://mongo:27017/") and "replicaSet=rs0" in env["MONGO_URL"]
            assert env["KAFKA_BOOTSTRAP"] == "kafka:9092"
            assert "JWT_SECRET" in env or "JWT_PUBLIC_KEY" in env
    assert "COMMUNITY_OPERATOR_KEY" in compose["services"]["community-web"]["environment"]


def test_web_roles_listen_on_their_port_and_are_checked_on_readyz(compose, roles, ports):
    web_py = (ROOT / "shared" / "web.py").read_text()
    assert '@bp.get("/readyz")' in web_py and '@bp.get("/healthz")' in web_py
    for service in roles:
        # Built by the shared factory, which serves /healthz and /readyz.
        assert re.search(r"\b(create_service_app|service_app)\(", (ROOT / "services" / service / "app.py").read_text())
        spec = compose["services"][f"{service}-web"]
        port = ports[service]
        assert spec["environment"]["PORT"] == str(port)
        assert spec["expose"] == [str(port)]
        check = " ".join(spec["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in check


def test_only_the_gateway_is_published_on_the_host(compose, ports):
    published = {name: spec["ports"] for name, spec in compose["services"].items() if spec.get("ports")}
    assert list(published) == ["gateway-web"]
    (mapping,) = published["gateway-web"]
    assert mapping.endswith(f":{ports['gateway']}")


def test_the_gateway_points_at_each_backend_web_role(compose, roles, ports):
    env = compose["services"]["gateway-web"]["environment"]
    backends = [s for s in roles if s != "gateway"]
    for service in backends:
        url = env[f"GATEWAY_{service.upper()}_URL"]
        host, port = re.fullmatch(r"http://([a-z-]+):(\d+)", url).groups()
        assert host == f"{service}-web" and host in compose["services"]
        assert compose["services"][host]["environment"]["PORT"] == port == str(ports[service])
    urls = {k for k in env if k.startswith("GATEWAY_") and k.endswith("_URL")}
    assert urls == {f"GATEWAY_{s.upper()}_URL" for s in backends}


def test_dependencies_exist_and_wait_for_health(compose):
    for name, spec in compose["services"].items():
        for dep, condition in spec.get("depends_on", {}).items():
            assert dep in compose["services"], f"{name} depends on missing {dep}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in compose["services"][dep], f"{dep} has no health check"
    for name, spec in app_services(compose).items():
        if spec["command"][0] in ("relay", "consumer", "scheduler") or name.endswith("-web") and name != "gateway-web":
            assert spec["depends_on"]["topics"]["condition"] == "service_completed_successfully"
            assert spec["depends_on"]["mongo"]["condition"] == "service_healthy"


def test_app_containers_are_locked_down(compose):
    for name, spec in app_services(compose).items():
        if spec["command"][0] not in ("web", "relay", "consumer", "scheduler"):
            continue
        assert spec["read_only"] is True and "/tmp" in spec["tmpfs"], name
        assert spec["cap_drop"] == ["ALL"] and "no-new-privileges:true" in spec["security_opt"], name
        assert spec["deploy"]["resources"]["limits"]["memory"], name


def test_demo_client_settings(compose):
    if "demo" not in compose["services"]:
        return
    demo = compose["services"]["demo"]
    assert demo["profiles"] == ["demo"] and demo["command"] == ["python", "-m", "services.demo"]
    source = "\n".join(p.read_text() for p in (ROOT / "services" / "demo").rglob("*.py"))
    for variable in demo["environment"]:
        assert f'"{variable}"' in source, f"services/demo never reads {variable}"
