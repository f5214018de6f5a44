"""Rate limits for login and money-moving endpoints (storage from RATE_LIMIT_STORAGE)."""
from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _caller_key() -> str:
    # Limit per bearer token where there is one, so residents behind one NAT are not lumped together.
    auth = request.headers.get("Authorization", "")
    return auth[-32:] if auth.lower().startswith("bearer ") else get_remote_address()


limiter = Limiter(key_func=_caller_key, default_limits=[])
