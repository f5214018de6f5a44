"""The ledger's layers stay apart: read from each module's imports (ast), so a shortcut fails here."""
from __future__ import annotations

import ast
from pathlib import Path

LEDGER = Path(__file__).resolve().parents[3] / "services" / "ledger"
PKG = "services.ledger"

# Who may not import whom (module -> modules of services.ledger it must not import).
WRITE_SIDE = ("model", "ids", "answers", "events", "commands", "repository", "lots", "lifecycle", "economy",
              "reads", "handlers", "bootstrap", "consumers", "scheduler", "appeals")
FORBIDDEN = {
    **{m: {"views", "api"} for m in WRITE_SIDE},  # the write side never depends on the read side
    "model": {"repository", "lifecycle", "reads", "handlers", "events", "views", "api", "consumers"},
    "repository": {"lifecycle", "reads", "handlers", "consumers", "views", "api", "events"},
    "lifecycle": {"handlers", "reads", "consumers", "views", "api", "economy"},
    "lots": {"lifecycle", "economy", "reads", "handlers", "consumers", "views", "api", "events"},
    "reads": {"handlers", "lifecycle", "consumers", "views", "api"},
    "consumers": {"handlers", "reads", "views", "api"},  # event reactions use the lifecycle, not the handlers
    "handlers": {"consumers", "bootstrap", "views", "api"},
}
PURE = ("model", "ids", "answers", "cross")  # the domain: no database, broker or web
IMPURE_ROOTS = {"pymongo", "bson", "kafka", "flask", "flask_smorest", "marshmallow", "requests", "gunicorn"}
IMPURE_SHARED = {"shared.uow", "shared.groupcommit", "shared.mongo", "shared.outbox", "shared.web", "shared.runtime",
                 "shared.kafka_bus", "shared.consumer", "shared.messagebus"}


def imports(module: str | Path) -> set[str]:
    """Every module `module` imports, wherever written (dotted names; `from services.ledger import x` gives
    services.ledger.x)."""
    tree = ast.parse((module if isinstance(module, Path) else LEDGER / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def ledger_imports(module: str) -> set[str]:
    return {name.split(".")[2] for name in imports(module) if name.startswith(PKG + ".")}


def test_every_rule_names_real_modules():
    modules = {p.stem for p in LEDGER.glob("*.py")}
    assert set(FORBIDDEN) <= modules and set(PURE) <= modules
    assert all(targets <= modules for targets in FORBIDDEN.values())


def test_no_module_imports_a_layer_it_must_not():
    broken = {m: sorted(ledger_imports(m) & banned) for m, banned in FORBIDDEN.items()
              if ledger_imports(m) & banned}
    assert broken == {}


def test_the_domain_is_pure():
    for module in PURE:
        names = imports(module)
        assert not {n.split(".")[0] for n in names} & IMPURE_ROOTS, module
        assert not names & IMPURE_SHARED, module


def test_the_rules_see_what_they_check(tmp_path):
    """The parser finds the dependencies that exist (consumers on the lifecycle, the lifecycle on the
    repository) and an import written inside a function."""
    assert "lifecycle" in ledger_imports("consumers") and "repository" in ledger_imports("lifecycle")
    nested = tmp_path / "nested.py"
    nested.write_text("def f():\n    from services.ledger import views\n")
    assert "services.ledger.views" in imports(nested)
