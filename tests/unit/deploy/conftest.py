"""What the deployment files are checked against: the services and roles in the code, and the environment
variable names the code reads. Everything here is derived by reading files (no Docker, no cluster)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def code_roles() -> dict[str, list[str]]:
    """service -> roles, from the files each service folder holds."""
    found = {}
    for folder in sorted((ROOT / "services").iterdir()):
        app = folder / "app.py"
        if not app.is_file():
            continue
        roles = ["web"]
        if re.search(r"\b(build_runtime|service_app)\(", app.read_text(encoding="utf-8")):
            roles.append("relay")  # it has a database, hence an outbox to publish
        roles += [role for role, module in (("consumer", "consumers.py"), ("scheduler", "scheduler.py"))
                  if (folder / module).is_file()]
        found[folder.name] = roles
    return found


def architecture_ports() -> dict[str, int]:
    """The fixed ports listed in docs/architecture.md ("gateway 8000, community 8001, …")."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return {name: int(port) for name, port in re.findall(r"\b([a-z]+) (80\d\d)\b", text)}


def env_names_read() -> set[str]:
    """Every environment variable name some process of the project reads."""
    names = set(re.findall(r'env\.get\("([A-Z0-9_]+)"', (ROOT / "shared" / "config.py").read_text()))
    names |= set(re.findall(r"""environ\.get\(["']([A-Z0-9_]+)""", (ROOT / "shared" / "gunicorn_conf.py").read_text()))
    names |= set(re.findall(r"""env\.get\(["']([A-Z0-9_]+)""", (ROOT / "shared" / "webserver.py").read_text()))
    names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", (ROOT / "docker" / "entrypoint.sh").read_text()))
    for service in code_roles():
        for source in (ROOT / "services" / service).rglob("*.py"):
            names |= {f"{service.upper()}_{n}"
                      for n in re.findall(r"""\.setting\(\s*["']([A-Z0-9_]+)["']""", source.read_text())}
    # shared.auth.require_operator_key reads <SERVICE>_OPERATOR_KEY for the services that name it.
    operator = re.search(r"OPERATOR_KEY_SERVICES = \(([^)]*)\)", (ROOT / "shared" / "config.py").read_text()).group(1)
    names |= {f"{s.upper()}_OPERATOR_KEY" for s in re.findall(r'"([a-z]+)"', operator)}
    spec = importlib.util.spec_from_file_location("_gw_upstreams", ROOT / "services" / "gateway" / "upstreams.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names |= set(module.setting_names())  # GATEWAY_<SERVICE>_URL are built from the service names
    return names


def load_all(path: Path) -> list[dict]:
    """Every YAML document in a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


@pytest.fixture(scope="session")
def roles():
    return code_roles()


@pytest.fixture(scope="session")
def ports():
    return architecture_ports()


@pytest.fixture(scope="session")
def env_names():
    return env_names_read()


@pytest.fixture(scope="session")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
