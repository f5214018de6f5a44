"""k8s/ (kustomize) against the code: a Deployment per service role with real probes and ports, Services, HPAs
for the HTTP roles, PDBs, limits, non-root pods, configuration names the code reads. Pure parsing; if kubectl
is installed, the overlays are also built with `kubectl kustomize`."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
BASE, LOCAL = K8S / "base", K8S / "overlays" / "local"


def load_all(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def kustomization(directory: Path) -> dict:
    (doc,) = load_all(directory / "kustomization.yaml")
    return doc


def resources(directory: Path) -> list[dict]:
    """Every resource document a kustomization includes (recursively), checking each path exists."""
    docs = []
    for entry in kustomization(directory).get("resources", []):
        target = (directory / entry).resolve()
        assert target.exists(), f"{directory / 'kustomization.yaml'} lists missing {entry}"
        docs += resources(target) if target.is_dir() else load_all(target)
    return docs


def by_kind(docs, kind) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module")
def base():
    return resources(BASE)


def pod(deployment) -> dict:
    return deployment["spec"]["template"]["spec"]


def container(deployment) -> dict:
    (only,) = pod(deployment)["containers"]
    return only


def test_every_yaml_file_under_k8s_parses():
    files = sorted(K8S.rglob("*.yaml"))
    assert files
    for path in files:
        for doc in load_all(path):
            assert "apiVersion" in doc and "kind" in doc, path


def test_every_kustomization_references_existing_files():
    for path in K8S.rglob("kustomization.yaml"):
        directory = path.parent
        doc = kustomization(directory)
        resources(directory)
        for patch in doc.get("patches", []):
            if "path" in patch:
                assert (directory / patch["path"]).is_file()


def test_a_deployment_per_service_role_and_nothing_else(base, roles):
    deployments = by_kind(base, "Deployment")
    assert set(deployments) == {f"{s}-{r}" for s, rs in roles.items() for r in rs}
    for name, deployment in deployments.items():
        service, role = name.rsplit("-", 1)
        c = container(deployment)
        assert c["image"] == f"timebank/{service}" and c["args"] == [role]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in deployment["spec"]["selector"]["matchLabels"].items())


def test_http_roles_probe_healthz_and_readyz_on_their_port(base, roles, ports):
    web_py = (ROOT / "shared" / "web.py").read_text()
    assert '@bp.get("/readyz")' in web_py and '@bp.get("/healthz")' in web_py
    for service in roles:
        c = container(by_kind(base, "Deployment")[f"{service}-web"])
        (port,) = c["ports"]
        assert port == {"name": "http", "containerPort": ports[service]}
        assert {"name": "PORT", "value": str(ports[service])} in c["env"]
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_workers_have_no_http_probe(base):
    for name, deployment in by_kind(base, "Deployment").items():
        if not name.endswith("-web"):
            c = container(deployment)
            assert not any(k in c for k in ("readinessProbe", "livenessProbe", "ports")), name


def test_singleton_workers_never_overlap_in_a_rollout(base):
    for name, deployment in by_kind(base, "Deployment").items():
        if name.endswith(("-relay", "-scheduler")):
            assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"


def test_each_http_role_has_a_service_on_its_port(base, roles, ports):
    services = by_kind(base, "Service")
    assert set(services) == {f"{s}-web" for s in roles}
    deployments = by_kind(base, "Deployment")
    for service in roles:
        spec = services[f"{service}-web"]["spec"]
        assert spec["ports"] == [{"name": "http", "port": ports[service], "targetPort": "http"}]
        assert spec["selector"] == deployments[f"{service}-web"]["spec"]["selector"]["matchLabels"]


def test_autoscalers_only_for_the_stateless_http_roles(base, roles):
    hpas = by_kind(base, "HorizontalPodAutoscaler")
    assert set(hpas) == {f"{s}-web" for s in roles}
    deployments = by_kind(base, "Deployment")
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_disruption_budgets_select_real_pods(base):
    deployments = by_kind(base, "Deployment")
    pdbs = by_kind(base, "PodDisruptionBudget")
    assert {n for n in deployments if n.endswith(("-web", "-consumer"))} == set(pdbs)
    for name, pdb in pdbs.items():
        assert pdb["spec"]["selector"]["matchLabels"] == deployments[name]["spec"]["selector"]["matchLabels"]


def test_every_container_has_requests_limits_and_runs_unprivileged(base):
    for workload in [*by_kind(base, "Deployment").values(), *by_kind(base, "Job").values()]:
        spec = pod(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
        for c in spec["containers"]:
            assert set(c["resources"]) == {"requests", "limits"}
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"]
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_configuration_names_are_the_ones_the_code_reads(base, env_names):
    example_secrets = by_kind(load_all(BASE / "secrets.example.yaml"), "Secret")
    config = by_kind(base, "ConfigMap")
    assert not set(config["timebank-config"]["data"]) - env_names
    for secret in example_secrets.values():
        assert not set(secret["stringData"]) - env_names
    for name, deployment in by_kind(base, "Deployment").items():
        c = container(deployment)
        assert not {e["name"] for e in c.get("env", [])} - env_names, name
        for source in c["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config
            else:
                assert source["secretRef"]["name"] in example_secrets  # documented for operators to create


def test_backends_get_database_broker_and_verification_key_and_only_community_signs(base, roles):
    config = by_kind(base, "ConfigMap")["timebank-config"]["data"]
    secrets = by_kind(load_all(BASE / "secrets.example.yaml"), "Secret")
    assert "KAFKA_BOOTSTRAP" in config and config["JWT_ALGORITHM"] == "RS256"
    assert {"MONGO_URL", "JWT_PUBLIC_KEY"} <= set(secrets["timebank-secrets"]["stringData"])
    assert {"JWT_PRIVATE_KEY", "COMMUNITY_OPERATOR_KEY"} <= set(secrets["community-secrets"]["stringData"])
    for name, deployment in by_kind(base, "Deployment").items():
        refs = {s.get("secretRef", {}).get("name") for s in container(deployment)["envFrom"]}
        service = name.rsplit("-", 1)[0]
        assert ("timebank-secrets" in refs) == (service != "gateway"), name
        assert ("community-secrets" in refs) == (service == "community"), name


def test_the_gateway_points_at_each_backend_service(base, roles, ports):
    env = {e["name"]: e["value"] for e in container(by_kind(base, "Deployment")["gateway-web"])["env"]}
    services = by_kind(base, "Service")
    for backend in (s for s in roles if s != "gateway"):
        url = env[f"GATEWAY_{backend.upper()}_URL"]
        assert url == f"http://{backend}-web:{ports[backend]}"
        assert services[f"{backend}-web"]["spec"]["ports"][0]["port"] == ports[backend]


def test_the_topics_job_runs_an_existing_image_role(base, roles):
    (job,) = by_kind(base, "Job").values()
    c = pod(job)["containers"][0]
    assert c["args"] == ["topics"] and c["image"].removeprefix("timebank/") in roles
    assert "topics)" in (ROOT / "docker" / "entrypoint.sh").read_text()


def test_every_image_gets_a_tag(base, roles):
    tagged = {i["name"] for i in kustomization(BASE / "services")["images"]}
    used = {c["image"] for d in [*by_kind(base, "Deployment").values(), *by_kind(base, "Job").values()]
            for c in pod(d)["containers"]}
    assert used <= tagged == {f"timebank/{s}" for s in roles}
    local = {i["name"]: i["newTag"] for i in kustomization(LOCAL)["images"]}
    assert set(local) == tagged and set(local.values()) == {"dev"}


def test_the_local_overlay_supplies_what_the_base_leaves_to_operators(env_names):
    doc = kustomization(LOCAL)
    generated = {g["name"]: dict(item.split("=", 1) for item in g.get("literals", [])) for g in doc["secretGenerator"]}
    assert set(generated) == {"timebank-secrets", "community-secrets", "exchange-secrets"}
    for values in generated.values():
        assert not set(values) - env_names
    # Secrets come from git-ignored env files named after their secret, never from literals in the repository.
    env_files = {g["name"]: g.get("envs", []) for g in doc["secretGenerator"]}
    assert env_files == {name: [f"{name}.env"] for name in generated}
    assert not {"JWT_SECRET", "COMMUNITY_OPERATOR_KEY", "EXCHANGE_OPERATOR_KEY"} & {k for v in generated.values() for k in v}
    ignored = (ROOT / ".gitignore").read_text()
    assert "k8s/overlays/local/*.env" in ignored
    config = {k: v for g in doc["configMapGenerator"] for k, v in (i.split("=", 1) for i in g["literals"])}
    assert config["JWT_ALGORITHM"] == "HS256"
    local = {d["metadata"]["name"]: d for d in resources(LOCAL)}
    # The broker and replica set the overlay runs are the ones the configuration names.
    assert config["KAFKA_BOOTSTRAP"] == "kafka-0.kafka:9092" and local["kafka"]["kind"] in ("Service", "StatefulSet")
    assert "mongo-0.mongo:27017" in generated["timebank-secrets"]["MONGO_URL"]
    statefulsets = [d for d in resources(LOCAL) if d["kind"] == "StatefulSet"]
    assert {s["metadata"]["name"] for s in statefulsets} == {"kafka", "mongo"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("directory", [BASE, LOCAL], ids=["base", "local"])
def test_kubectl_kustomize_builds(directory, tmp_path):
    # A copy, with the git-ignored secret files an operator creates (random values, as the overlay says).
    shutil.copytree(K8S, tmp_path / "k8s", ignore=shutil.ignore_patterns("*.env"))
    copy = tmp_path / "k8s" / directory.relative_to(K8S)
    (tmp_path / "k8s" / "overlays" / "local" / "timebank-secrets.env").write_text("JWT_SECRET=0123abcd\n")
    (tmp_path / "k8s" / "overlays" / "local" / "community-secrets.env").write_text("COMMUNITY_OPERATOR_KEY=4567ef\n")
    (tmp_path / "k8s" / "overlays" / "local" / "exchange-secrets.env").write_text("EXCHANGE_OPERATOR_KEY=89ab01\n")
    built = subprocess.run(["kubectl", "kustomize", str(copy)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert any(d["kind"] == "Deployment" for d in docs)
    if directory == LOCAL:
        assert all(d["metadata"].get("namespace") == "timebank" for d in docs if d["kind"] != "Namespace")
        # Generated secret names carry a hash; every reference must follow it.
        secrets = {d["metadata"]["name"] for d in docs if d["kind"] == "Secret"}
        values = {k for d in docs if d["kind"] == "Secret" for k in d.get("data", {})}
        assert {"JWT_SECRET", "COMMUNITY_OPERATOR_KEY", "EXCHANGE_OPERATOR_KEY", "MONGO_URL"} <= values
        for d in docs:
            if d["kind"] == "Deployment":
                for source in d["spec"]["template"]["spec"]["containers"][0]["envFrom"]:
                    if "secretRef" in source:
                        assert source["secretRef"]["name"] in secrets
