"""Rate limits for login and money-moving endpoints, counted in one place for every process of a service.

Storage (RATE_LIMIT_STORAGE): unset means the service's own MongoDB database (collections
`ratelimit_counters` / `ratelimit_windows`, expired by TTL indexes), so N gunicorn workers or replicas share
one count; `memory://` keeps counts per process (only where explicitly configured, e.g. most tests);
any other limits storage URI is used as given.

A rate-limited request costs at most one MongoDB round trip (OneTripMongoDBStorage): the counter's increment,
whose answer also gives the X-RateLimit headers, instead of the increment plus two reads for the headers; and
a caller under a large limit takes several places of the window at once (ReservingFixedWindowRateLimiter)."""
import datetime
import threading
import time

from flask import g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MongoDBStorage
from limits.strategies import STRATEGIES, FixedWindowRateLimiter

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        # key -> [next spare place, last spare place, window end (timestamp), window end (as stored)]
        self._spare: dict[str, list] = {}

    def _init_mongo_client(self, uri, **options):
        return super()._init_mongo_client(uri.removeprefix(ONE_TRIP_PREFIX), **options)

    @staticmethod
    def _counted() -> dict:
        if not has_request_context():
            return {}
        if "_ratelimit_counted" not in g:
            g._ratelimit_counted = {}
        return g._ratelimit_counted

    def _increment(self, key: str, expiry: int, amount: int) -> tuple[int, datetime.datetime] | None:
        """(count, window end) after adding `amount` (a new window if the last one ended), in one findAndModify,
        counted as limits' MongoDBStorage.incr counts."""
        expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expiry)
        ended = {"$lt": ["$expireAt", "$$NOW"]}
        doc = self.counters.find_one_and_update(
            {"_id": key},
            [{"$set": {"count": {"$cond": {"if": ended, "then": amount, "else": {"$add": ["$count", amount]}}},
                       "expireAt": {"$cond": {"if": ended, "then": expiration, "else": "$expireAt"}}}}],
            upsert=True, projection=["count", "expireAt"], return_document=self.lib.ReturnDocument.AFTER)
        return (int(doc["count"]), doc["expireAt"]) if doc else None

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Increment the counter; the answer is kept for this request's get / get_expiry."""
        answer = self._increment(key, expiry, amount)
        if answer is None:
            return 0
        self._counted()[key] = answer
        return answer[0]

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

    def take(self, key: str, expiry: int, limit: int) -> int:
        """This hit's place in the window (1 = the first hit; more than `limit` = refused).

        Under a limit of L per window a process takes k = L // RESERVE_DIVISOR places at once (at most
        RESERVE_MAX; one, i.e. a plain increment, under a limit below 2 * RESERVE_DIVISOR): one increment by k
        claims k consecutive places of the shared counter, and the next hits in this process take the spare
        ones without a round trip until they run out or the window ends. Nothing beyond L is ever admitted in a
        window, whichever processes the hits reach; a place one process reserved and did not use is lost to
        the others, so a caller whose hits move between P processes may be refused up to (P - 1) * (k - 1)
        hits early (the ledger's 120 a minute: k = 7; one web process by default). A busy caller (an
        organizer confirming a queue, a shop's till) pays one round trip per k hits instead of one per hit."""
        now = time.time()
        with self._lock:
            spare = self._spare.get(key)
            if spare is not None and spare[0] <= spare[1] and now < spare[2]:
                place, ends = spare[0], spare[3]
                spare[0] += 1
                self._counted()[key] = (place, ends)
                return place
        chunk = max(1, min(RESERVE_MAX, limit // RESERVE_DIVISOR))
        answer = self._increment(key, expiry, chunk)
        if answer is None:
            return 0
        count, ends = answer
        first = count - chunk + 1
        self._counted()[key] = (first, ends)
        if first < min(count, limit):  # places left for the next hits here
            with self._lock:
                if len(self._spare) >= SPARE_KEYS_KEPT:
                    self._spare = {k: v for k, v in self._spare.items() if now < v[2] and v[0] <= v[1]}
                self._spare[key] = [first + 1, min(count, limit),
                                    ends.replace(tzinfo=datetime.timezone.utc).timestamp(), ends]
        return first


# A process reserves limit // RESERVE_DIVISOR places of a window at once, at most RESERVE_MAX (see take()).
RESERVE_DIVISOR = 16
RESERVE_MAX = 8
SPARE_KEYS_KEPT = 10_000  # callers with spare places kept per process; ended windows are dropped past this
STRATEGY = "timebank-fixed-window"


class ReservingFixedWindowRateLimiter(FixedWindowRateLimiter):
    """limits' fixed window, taking places through OneTripMongoDBStorage.take where the storage is that one (the
    memory storages of tests and the gateway count as before)."""

    def hit(self, item, *identifiers: str, cost: int = 1) -> bool:
        """Consume one place of the window (as FixedWindowRateLimiter.hit)."""
        if cost != 1 or not isinstance(self.storage, OneTripMongoDBStorage):
            return super().hit(item, *identifiers, cost=cost)
        return self.storage.take(item.key_for(*identifiers), item.get_expiry(), item.amount) <= item.amount


STRATEGIES[STRATEGY] = ReservingFixedWindowRateLimiter


def _caller_key() -> str:
    # Limit per bearer token where there is one, so residents behind one NAT are not lumped together.
    auth = request.headers.get("Authorization", "")
    return auth[-32:] if auth.lower().startswith("bearer ") else get_remote_address()


def storage_settings(config, has_database: bool = True) -> dict:
    """Flask-Limiter settings (RATELIMIT_STORAGE_URI / _OPTIONS) for a service's Config; a service without a
    database of its own (the gateway, which limits nothing itself) counts in memory unless told otherwise."""
    uri = config.rate_limit_storage
    if uri == MEMORY or (not uri and not has_database):
        return {"RATELIMIT_STORAGE_URI": SWEPT_MEMORY, "RATELIMIT_STORAGE_OPTIONS": {},
                "RATELIMIT_STRATEGY": STRATEGY}
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
            "w": 1}, "RATELIMIT_STRATEGY": STRATEGY}
    return {"RATELIMIT_STORAGE_URI": uri, "RATELIMIT_STORAGE_OPTIONS": {}, "RATELIMIT_STRATEGY": STRATEGY}


limiter = Limiter(key_func=_caller_key, default_limits=[])
