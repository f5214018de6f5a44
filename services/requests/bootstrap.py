"""Wires the requests service's message bus with its policy (REQUESTS_* settings)."""
from __future__ import annotations

import functools

from shared.config import Config
from shared.messagebus import MessageBus
from shared.runtime import Runtime
from services.requests.handlers import HANDLERS
from services.requests.model import Policy


def policy_from(config: Config) -> Policy:
    """The deployment's rules: commitment limit, claim tolerance, code lifetime and attempts."""
    return Policy(commitment_limit=int(config.setting("COMMITMENT_LIMIT", 3)),
                  claim_tolerance_minutes=int(config.setting("CLAIM_TOLERANCE_MINUTES", 10)),
                  code_ttl_minutes=int(config.setting("CODE_TTL_MINUTES", 15)),
                  code_max_attempts=int(config.setting("CODE_MAX_ATTEMPTS", 5)))


def bootstrap(runtime: Runtime, policy: Policy | None = None) -> MessageBus:
    """The message bus with every requests command handler, the policy injected."""
    policy = policy or policy_from(runtime.config)
    return MessageBus(runtime.uow, {cmd: functools.partial(fn, policy=policy) for cmd, fn in HANDLERS.items()})
