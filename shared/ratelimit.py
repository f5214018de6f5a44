"""Rate limits for login and money-moving endpoints, counted in one place for every process of a service.

Storage (RATE_LIMIT_STORAGE): unset means the service's own MongoDB database (collections
`ratelimit_counters` / `ratelimit_windows`, expired by TTL indexes), so N gunicorn workers or replicas share
one count; `memory://` keeps counts per process (only where explicitly configured, e.g. most tests);
any other limits storage URI is used as given.

A rate-limited request costs one MongoDB round trip (OneTripMongoDBStorage): the counter's increment, whose
answer also gives the X-RateLimit headers, instead of the increment plus two reads for the headers."""
import datetime

from flask import g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MongoDBStorage

MEMORY = "memory://"
# shared/web.py's SweptMemoryStorage: MemoryStorage without a thread start per request.
SWEPT_MEMORY = "timebank-memory://"
ONE_TRIP_PREFIX = "timebank-"


class OneTripMongoDBStorage(MongoDBStorage):
    """limits' MongoDB storage (the same collections, documents and fixed-window counting, shared by every process),
    remembering for the rest of the request what the increment answered.

    Flask-Limiter counts a hit (`incr`, one findAndModify) and then, for the X-RateLimit-Remaining / -Reset
    headers, reads the same counter twice more (`get`, `get_expiry`): three round trips, and two of them only
    re-read what the increment had just returned. Here the increment returns the count and the window's end
    together, kept in flask.g; `get` / `get_expiry` of that key in the same request answer from it, anything else
    (another key, no request, nothing counted yet) reads MongoDB as before. The limit is enforced on the
    increment's own answer exactly as before, so it still holds across processes and replicas."""

    STORAGE_SCHEME = [ONE_TRIP_PREFIX + "mongodb", ONE_TRIP_PREFIX + "mongodb+srv"]

    def _init_mongo_client(self, uri, **options):
        return super()._init_mongo_client(uri.removeprefix(ONE_TRIP_PREFIX), **options)

    @staticmethod
    def _counted() -> dict:
        if not has_request_context():
            return {}
        if "_ratelimit_counted" not in g:
            g._ratelimit_counted = {}
        return g._ratelimit_counted

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Increment the counter (a new window if the last one ended), as limits' MongoDBStorage.incr does."""
        expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expiry)
        ended = {"$lt": ["$expireAt", "$$NOW"]}
        doc = self.counters.find_one_and_update(
            {"_id": key},
            [{"$set": {"count": {"$cond": {"if": ended, "then": amount, "else": {"$add": ["$count", amount]}}},
                       "expireAt": {"$cond": {"if": ended, "then": expiration, "else": "$expireAt"}}}}],
            upsert=True, projection=["count", "expireAt"], return_document=self.lib.ReturnDocument.AFTER)
        if not doc:
            return 0
        self._counted()[key] = (int(doc["count"]), doc["expireAt"])
        return int(doc["count"])

    def get(self, key: str) -> int:
        """The counter: as counted by this request's increment, else read."""
        seen = self._counted().get(key)
        return seen[0] if seen else super().get(key)

    def get_expiry(self, key: str) -> float:
        """When the window ends: from this request's increment, else read."""
        seen = self._counted().get(key)
        if not seen:
            return super().get_expiry(key)
        return seen[1].replace(tzinfo=datetime.timezone.utc).timestamp()


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
        return {"RATELIMIT_STORAGE_URI": ONE_TRIP_PREFIX + (uri or config.mongo_url), "RATELIMIT_STORAGE_OPTIONS": {
            "database_name": config.mongo_db, "counter_collection_name": "ratelimit_counters",
            "window_collection_name": "ratelimit_windows",
            # MongoClient options: a request waits at most this long for the counter when mongod is away
            # (then it gets the usual 503, like any other database outage).
            "serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 3000, "appname": f"{config.service}-ratelimit",
            # Acknowledged by the primary, not majority-journaled (MongoDB's default since 5.0): the counter
            # guards no money or state, a count lost in a crash lets one caller a few more tries, and waiting
            # for the journal on every limited request cost mongod a journal flush each time.
            "w": 1}}
    return {"RATELIMIT_STORAGE_URI": uri, "RATELIMIT_STORAGE_OPTIONS": {}}


limiter = Limiter(key_func=_caller_key, default_limits=[])
