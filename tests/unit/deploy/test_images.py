"""docker/Dockerfile and docker/entrypoint.sh: one image per service from the repository root, shared/ installed
once as a package, a non-root user, gunicorn for web and the same image for the worker roles; and the generated
files (compose, k8s/base/services) are current."""
from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
ENTRYPOINT = (ROOT / "docker" / "entrypoint.sh").read_text()


def _render_module():
    spec = importlib.util.spec_from_file_location("_render", ROOT / "docker" / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_files_are_current():
    stale = _render_module().stale()
    assert not stale, f"run `python docker/render.py`: stale {[str(p.relative_to(ROOT)) for p in stale]}"


def test_the_renderer_finds_the_same_services_and_roles_as_the_code(roles):
    assert _render_module().discover() == {s: roles[s] for s in sorted(roles, key=list(roles).index)}


def test_small_base_non_root_user_and_one_service_per_image():
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", DOCKERFILE, re.M)
    # Python stages, and one Node stage that only builds the web app's dist/.
    assert stages and all(image == "${PYTHON_IMAGE}" for image, name in stages if name != "web")
    assert ("${NODE_IMAGE}", "web") in stages and "COPY --from=web /web/dist" in DOCKERFILE
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE
    (user,) = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    uid = int(user.split(":")[0])
    assert uid > 0 and "useradd" in DOCKERFILE and f"--uid {uid}" in DOCKERFILE
    assert re.search(r"^ARG SERVICE$", DOCKERFILE, re.M)
    copies = re.findall(r"^COPY (?!--from)(?:--\S+ )?(\S+)", DOCKERFILE[DOCKERFILE.index("AS build"):], re.M)
    assert "services/${SERVICE}/" in copies and "services/" not in copies  # only this service's code
    assert copies.count("shared/") == 1  # the library goes in once, installed as a package
    assert "pip install --no-deps ." in DOCKERFILE


def test_runtime_dependencies_cover_every_import_and_leave_test_tools_out():
    assert "pip install -r requirements.txt" in DOCKERFILE and "requirements-dev" not in DOCKERFILE
    kept = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    kept_dists = {re.split(r"[<>=!~ ;\[]", line, maxsplit=1)[0].lower() for line in kept}
    assert not kept_dists & {"pytest", "testcontainers", "locust"}
    dist_of = importlib.metadata.packages_distributions()
    # Requirements of the kept distributions come along with them.
    installed = set(kept_dists)
    for dist in list(kept_dists):
        for req in importlib.metadata.requires(dist) or []:
            if "extra ==" not in req:
                installed.add(re.split(r"[<>=!~ ;\[(]", req, maxsplit=1)[0].lower())
    test_only = {"testing.py", "pytest_plugin.py"}
    sources = [p for p in (ROOT / "shared").glob("*.py") if p.name not in test_only]
    sources += [p for p in (ROOT / "services").rglob("*.py")]
    missing = {}
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("shared", "services"):
                    continue
                dists = {d.lower().replace("_", "-") for d in dist_of.get(top, [])}
                if not dists & {d.replace("_", "-") for d in installed}:
                    missing.setdefault(top, []).append(str(source.relative_to(ROOT)))
    assert not missing, f"imported at runtime but not installed in the image: {missing}"


def test_entrypoint_runs_every_role_of_the_image_service():
    from shared.worker import ROLES
    assert set(ROLES) == {"relay", "consumer", "scheduler"}
    assert re.search(r"^\s*web\)", ENTRYPOINT, re.M) and re.search(r"^\s*relay\|consumer\|scheduler\)", ENTRYPOINT, re.M)
    assert 'exec python -m shared.webserver "$SERVICE"' in ENTRYPOINT  # gunicorn, or granian (WEB_SERVER)
    assert 'exec python -m shared.worker "$SERVICE" "$role"' in ENTRYPOINT
    assert 'BIND="${BIND:-0.0.0.0:${PORT' in ENTRYPOINT  # reachable from outside the container
    assert re.search(r'^ENTRYPOINT \["timebank-entrypoint"\]$', DOCKERFILE, re.M)
    assert re.search(r'^CMD \["web"\]$', DOCKERFILE, re.M)


def test_the_build_context_leaves_out_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".local", "tests"} <= ignored
