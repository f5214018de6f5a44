"""Demo data: `python -m services.demo` seeds a living demo deployment through the gateway (idempotent)."""
