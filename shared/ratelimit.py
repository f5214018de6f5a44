"""Rate limits for login and money-moving endpoints, counted in one place for every process of a service.

Storage (RATE_LIMIT_STORAGE): unset means the service's own MongoDB database (collections
`ratelimit_counters` / `ratelimit_windows`, expired by TTL indexes), so N gunicorn workers or replicas share
one count; `memory://` keeps counts per process (only where explicitly configured, e.g. most tests);
any other limits storage URI is used as given."""
from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

MEMORY = "memory://"
# shared/web.py's SweptMemoryStorage: MemoryStorage without a thread start per request.
SWEPT_MEMORY = "timebank-memory://"


def _caller_key() -> str:
    # Limit per bearer token where there is one, so residents behind one NAT are not lumped together.
    auth = request.headers.get("Authorization", "")
    return auth[-32:] if auth.lower().startswith("bearer ") else get_remote_address()


def storage_settings(config, has_database: bool = True) -> dict:
    """Flask-Limiter settings (RATELIMIT_STORAGE_URI / _OPTIONS) for a service's Config; a service without a
    database of its own (the gateway, which limits nothing itself) counts in memory unless told otherwise."""
    uri = config.rate_limit_storage
    if uri == MEMORY or (not uri and not has_database):
        return {"RATELIMIT_STORAGE_URI": SWEPT_MEMORY, "RATELIMIT_STORAGE_OPTIONS": {}}
    if not uri or uri.startswith(("mongodb://", "mongodb+srv://")):
        return {"RATELIMIT_STORAGE_URI": uri or config.mongo_url, "RATELIMIT_STORAGE_OPTIONS": {
            "database_name": config.mongo_db, "counter_collection_name": "ratelimit_counters",
            "window_collection_name": "ratelimit_windows",
            # MongoClient options: a request waits at most this long for the counter when mongod is away
            # (then it gets the usual 503, like any other database outage).
            "serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 3000, "appname": f"{config.service}-ratelimit"}}
    return {"RATELIMIT_STORAGE_URI": uri, "RATELIMIT_STORAGE_OPTIONS": {}}


limiter = Limiter(key_func=_caller_key, default_limits=[])
