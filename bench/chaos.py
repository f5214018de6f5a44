"""Chaos run: the whole stack under supervisord, a stream of money moves through the gateway, and faults.

    python bench/chaos.py [--minutes 5] [--clients 4] [--fault-every 12] [--seed 1]

Starts its own stack (shared/devstack/supervise.py, the same process list as `make run`) on free ports in
a temp directory, seeds one community through the gateway (admin, organizer, residents with an hours
overdraft, residents earning points, a shop and its till staff), then for `--minutes` runs `--clients`
threads of:
  * two-party transfers (create, then the payee confirms), each carrying its operation id as the memo;
  * help claims: post a request, accept, check in/out with codes, claim, the requester confirms;
  * till redemptions: the shop's staff redeems a resident's points, the resident confirms;
every POST that moves money with an Idempotency-Key kept across retries, every call retried through
connection errors, 5xx and 429 (nobody restarts anything by hand). Meanwhile it injects a fault every
`--fault-every` seconds: kill -9 of a gunicorn worker or master, of a service's workers process (its
relay, consumer and scheduler), a Kafka restart (kill -9 of the JVM, or a clean restart) and a mongod
restart (kill -9 or clean). supervisord brings each back.

Then it lets the stack settle and checks, from the services' own databases and Kafka:
  * every acknowledged (2xx) transfer exists exactly once (by memo), every acknowledged confirm is posted;
  * every acknowledged claim made exactly one transfer (by reference), every acknowledged redemption one
    redemption and one transfer;
  * every posted transfer of the community reached Kafka (a TransferPosted event on the ledger topic);
  * the ledger audit passes (GET /v1/admin/audit) and, after a settlement batch is closed, the shop's
    reconciliation is balanced.
It prints faults injected, operations acknowledged, lost and doubled. Exit code 1 if anything is lost,
doubled, or a check fails.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from pymongo import MongoClient  # noqa: E402

from shared import topics  # noqa: E402
from shared.devstack.fetch import ensure_all  # noqa: E402
from shared.devstack.process import children as child_pids  # noqa: E402
from shared.devstack.supervise import Layout, SupervisedStack  # noqa: E402
from shared.testing import wait_until  # noqa: E402

OPERATOR_KEY = "dev-operator-key"  # the stack binds 127.0.0.1 only, where the development key is allowed
PIN = "chaos-pin-123"
RETRYABLE = {429, 500, 502, 503, 504}


class Client:
    """The gateway, patient: retries connection errors, 5xx and 429 with the same Idempotency-Key."""

    def __init__(self, base: str, patience: float = 180.0):
        self.base = base
        self.patience = patience
        self.local = threading.local()
        self.retries = Counter()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.trust_env = False
        return self.local.session

    def call(self, method: str, path: str, token: str | None = None, body=None, key: str | None = None,
             params=None, headers=None) -> tuple[int, dict | list]:
        """(status, body) of the first answer that is not retryable; raises after `patience` seconds."""
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + self.patience
        while True:
            try:
                answer = self.session().request(method, f"{self.base}/api/{path}", json=body, params=params,
                                                headers=headers, timeout=30)
                status = answer.status_code
                if status not in RETRYABLE:
                    try:
                        return status, answer.json()
                    except ValueError:
                        return status, {"text": answer.text[:300]}
                reason = str(status)
            except requests.RequestException as exc:
                reason = type(exc).__name__
                self.local.session = requests.Session()
                self.local.session.trust_env = False
            self.retries[reason] += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: still failing ({reason}) after {self.patience:.0f}s")
            time.sleep(0.5)

    def ok(self, method: str, path: str, token: str | None = None, body=None, **kwargs):
        status, answer = self.call(method, path, token, body, **kwargs)
        if status >= 400:
            raise RuntimeError(f"{method} {path} answered {status}: {answer}")
        return answer



def _code(answer) -> str:
    return str(answer.get("code") or answer.get("detail", ""))[:60] if isinstance(answer, dict) else ""


def _items(answer):
    return answer["items"] if isinstance(answer, dict) else answer


# -- the world ------------------------------------------------------------------------------------------
class World:
    """One community seeded through the gateway."""

    def __init__(self, gw: Client, residents: int, earners: int):
        self.gw = gw
        code = f"chaos-{uuid.uuid4().hex[:6]}"
        made = gw.ok("POST", "community/v1/communities", headers={"X-Operator-Key": OPERATOR_KEY}, body={
            "code": code, "name": "混沌社区 Chaos", "point_value_fen": 10,
            "admin": {"display_name": "管理员", "phone": "13700000000", "password": PIN}}, key=f"{code}:community")
        self.code = code
        self.cid = made["community"]["community_id"]
        self.admin = self.login("13700000000")
        self.organizer = self.join(1, ["organizer"])
        self.residents = [self.join(10 + i) for i in range(residents)]
        merchant = gw.ok("POST", "settlement/v1/merchants", self.admin["token"], {
            "name": "混沌便利店", "max_discount_share_bp": 5000, "min_points": 1}, key=f"{code}:merchant")
        self.merchant_id = merchant["merchant_id"]
        self.staff = self.join(2, ["merchant"], merchant_id=self.merchant_id)
        for member in self.residents:
            account = f"m:{self.cid}:{member['member_id']}:HOUR"
            wait_until(lambda: self.gw.call(
                "POST", f"ledger/v1/admin/accounts/{account}/credit-limit", self.admin["token"],
                {"credit_limit": 100_000}, key=f"{account}:limit")[0] == 200,
                       timeout=120, interval=0.3, message="the ledger to open accounts")
        self.earners = self.residents[:earners]
        for member in self.earners:  # 2 × 720 points: awards the organizer confirms
            for n in range(2):
                t = gw.ok("POST", "ledger/v1/transfers", member["token"], {
                    "workflow": "award", "unit": "PT", "minutes": 1440, "service_class": "high_risk"},
                    key=f"{member['member_id']}:award{n}")
                gw.ok("POST", f"ledger/v1/transfers/{t['transfer_id']}/confirm", self.organizer["token"],
                      key=f"{t['transfer_id']}:confirm")
        gw.ok("POST", "settlement/v1/sponsor-budget/top-ups", self.admin["token"],
              {"amount_fen": 100_000_000, "reference": "混沌测试 chaos"}, key=f"{code}:budget")

    def login(self, phone: str) -> dict:
        return self.gw.ok("POST", "community/v1/auth/login",
                          body={"community_code": self.code, "phone": phone, "password": PIN})

    def join(self, n: int, roles=("resident",), merchant_id=None) -> dict:
        phone = f"137{n:08d}"
        self.gw.call("POST", f"community/v1/communities/{self.cid}/members", self.admin["token"], {
            "display_name": f"邻居{n}", "phone": phone, "password": PIN, "roles": list(roles),
            "merchant_id": merchant_id}, key=f"{self.code}:join{n}")
        return self.login(phone)


# -- the operations -------------------------------------------------------------------------------------
class Load:
    """Client threads running transfers, claims and redemptions; records what was acknowledged."""

    def __init__(self, world: World, seed: int):
        self.world = world
        self.gw = world.gw
        self.seed = seed
        self.lock = threading.Lock()
        self.transfers: dict[str, dict] = {}  # op id -> {"acked": transfer_id | None, "confirmed": bool}
        self.claims: dict[str, dict] = {}  # request id -> {"claimed": bool, "completed": bool}
        self.redemptions: dict[str, dict] = {}  # op id -> {"acked": redemption id | None, "confirmed": bool}
        self.refused = Counter()
        self.errors: list[str] = []
        self.slow: list[str] = []  # waits of more than a minute for an event hop (retried, not errors)

    def transfer(self, rnd: random.Random) -> None:
        payer, payee = rnd.sample(self.world.residents, 2)
        op = uuid.uuid4().hex
        record = self.transfers.setdefault(op, {"acked": None, "confirmed": False})
        status, body = self.gw.call("POST", "ledger/v1/transfers", payer["token"], {
            "workflow": "credit", "unit": "HOUR", "counterparty_id": payee["member_id"],
            "amount": rnd.randint(1, 30), "memo": op}, key=f"{op}:create")
        if status != 201:
            self.refused[f"transfer {status} {_code(body)}"] += 1
            return
        record["acked"] = body["transfer_id"]
        status, answer = self.gw.call("POST", f"ledger/v1/transfers/{body['transfer_id']}/confirm",
                                      payee["token"], key=f"{op}:confirm")
        record["confirmed"] = status == 200
        if status != 200:
            self.refused[f"confirm {status} {_code(answer)}"] += 1

    def claim(self, rnd: random.Random) -> None:
        requester, helper = rnd.sample(self.world.residents, 2)
        r_tok, h_tok = requester["token"], helper["token"]
        now = datetime.now(timezone.utc).replace(microsecond=0)
        op = uuid.uuid4().hex
        status, req = self.gw.call("POST", "requests/v1/requests", r_tok, {
            "category": "errands", "title": f"混沌 chaos {op[:8]}", "unit": "HOUR", "estimated_minutes": 30,
            "window_start": now.isoformat(), "window_end": (now + timedelta(days=2)).isoformat(),
            "urgency": "normal", "grid_id": None, "description": "chaos"}, key=f"{op}:post")
        if status != 201:
            self.refused[f"request {status} {_code(req)}"] += 1
            return
        rid = req["request_id"]
        record = self.claims.setdefault(rid, {"claimed": False, "completed": False})
        path = f"requests/v1/requests/{rid}"
        for _ in range(40):  # each pass reads the state afresh and takes the next step (retries are safe)
            state = self.gw.ok("GET", path, r_tok)
            status = state["status"]
            if status == "open":
                self.gw.call("POST", f"{path}/accept", h_tok)
            elif status == "accepted":
                code = self.gw.ok("POST", f"{path}/codes", r_tok)["code"]
                self.gw.call("POST", f"{path}/check-in", h_tok, {"code": code})
            elif status == "in_progress" and state.get("ended_at") is None:
                if (state.get("agreed_minutes") or 0) < 30:
                    self.gw.call("POST", f"{path}/agree-claim", r_tok, {"minutes": 30})
                code = self.gw.ok("POST", f"{path}/codes", r_tok)["code"]
                self.gw.call("POST", f"{path}/check-out", h_tok, {"code": code})
            elif status == "in_progress":
                answer, _ = self.gw.call("POST", f"{path}/claim", h_tok, {"minutes": 30}, key=f"{op}:claim")
                record["claimed"] = record["claimed"] or answer in (200, 201)
            elif status == "claimed":
                record["claimed"] = True
                try:  # a slow hop (Kafka or mongod coming back) only means another pass
                    transfer = wait_until(lambda: next(
                        (t for t in _items(self.gw.ok("GET", "ledger/v1/transfers/awaiting", r_tok))
                         if (t.get("reference") or {}).get("id") == rid), None),
                        timeout=60, interval=0.5, message="the claim's pending transfer")
                    self.gw.call("POST", f"ledger/v1/transfers/{transfer['transfer_id']}/confirm", r_tok,
                                 key=f"{op}:confirm")
                    wait_until(lambda: self.gw.ok("GET", path, r_tok)["status"] == "completed",
                               timeout=60, interval=0.5, message="the request to complete")
                except AssertionError as exc:  # wait_until's timeout
                    self.slow.append(f"claim {rid}: {exc}")
            elif status == "completed":
                record["completed"] = True
                return
            else:
                self.refused[f"claim ended {status}"] += 1
                return
        self.errors.append(f"claim {rid} stuck in {status}")

    def redeem(self, rnd: random.Random) -> None:
        member = rnd.choice(self.world.earners)
        op = uuid.uuid4().hex
        record = self.redemptions.setdefault(op, {"acked": None, "confirmed": False})
        status, body = self.gw.call("POST", f"settlement/v1/merchants/{self.world.merchant_id}/redemptions",
                                    self.world.staff["token"], {"member_id": member["member_id"], "points": 10,
                                                                "bill_fen": 1000}, key=f"{op}:redeem")
        if status != 201:
            self.refused[f"redemption {status} {_code(body)}"] += 1
            return
        rid = record["acked"] = body["redemption_id"]
        transfer = wait_until(lambda: next(
            (t for t in _items(self.gw.ok("GET", "ledger/v1/transfers/awaiting", member["token"]))
             if (t.get("reference") or {}).get("id") == rid), None),
            timeout=180, interval=0.5, message="the redemption's pending transfer")
        status, _ = self.gw.call("POST", f"ledger/v1/transfers/{transfer['transfer_id']}/confirm", member["token"],
                                 key=f"{op}:confirm")
        record["confirmed"] = status == 200

    def run(self, index: int, deadline: float) -> None:
        rnd = random.Random(self.seed * 100 + index)
        while time.monotonic() < deadline:
            kind = rnd.choices(["transfer", "claim", "redeem"], weights=[6, 2, 2])[0]
            try:
                getattr(self, kind)(rnd)
            except Exception as exc:  # noqa: BLE001 - recorded and reported; the run goes on
                self.errors.append(f"{kind}: {exc}")


# -- the faults -----------------------------------------------------------------------------------------
class Faults:
    """Injects one fault at a time into the supervised stack."""

    def __init__(self, stack: SupervisedStack, seed: int):
        self.stack = stack
        self.rnd = random.Random(seed)
        self.injected = Counter()
        self.log: list[str] = []

    def _kill(self, pid: int) -> bool:
        try:
            os.kill(pid, signal.SIGKILL)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def inject(self, kind: str) -> None:
        pids = self.stack.pids()
        webs = [n for n in self.stack.layout.services if pids.get(n)]
        workers = [n for n in pids if n.endswith("-workers") and pids[n]]
        target, done = "", False
        if kind == "web worker" and webs:
            target = self.rnd.choice(webs)
            children = child_pids(pids[target])
            done = bool(children) and self._kill(self.rnd.choice(children))
        elif kind == "web master" and webs:
            target = self.rnd.choice(webs)
            done = self._kill(pids[target])
        elif kind == "workers process" and workers:
            target = self.rnd.choice(workers)
            done = self._kill(pids[target])
        elif kind in ("kafka kill -9", "mongod kill -9"):
            target = kind.split()[0]
            server = child_pids(pids.get(target, 0))
            done = bool(server) and self._kill(server[0])  # the JVM / mongod itself, not its wrapper
        elif kind in ("kafka restart", "mongod restart"):
            target = kind.split()[0]
            done = self.stack.ctl("restart", target).returncode == 0
        if done:
            self.injected[kind] += 1
            self.log.append(f"{time.strftime('%H:%M:%S')} {kind} {target}")
            print(f"  fault: {kind} {target}", flush=True)

    def run(self, deadline: float, every: float, stop: threading.Event) -> None:
        # Kafka and mongod each go down twice (once killed, once restarted cleanly), spread over the run;
        # every other fault is a random application process.
        span = deadline - time.monotonic()
        scheduled = sorted([(time.monotonic() + span * f, kind) for f, kind in (
            (0.2, "kafka kill -9"), (0.4, "mongod kill -9"), (0.6, "kafka restart"), (0.8, "mongod restart"))])
        while not stop.wait(every) and time.monotonic() < deadline:
            if scheduled and time.monotonic() >= scheduled[0][0]:
                self.inject(scheduled.pop(0)[1])
            else:
                self.inject(self.rnd.choices(["web worker", "web master", "workers process"], weights=[4, 2, 4])[0])


# -- the checks -----------------------------------------------------------------------------------------
def posted_on_kafka(bootstrap: str) -> set[str]:
    """transfer ids of every TransferPosted event on the ledger topic."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        name = topics.LEDGER
        parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        found = set()
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    event = json.loads(r.value)
                    if event["type"] == "TransferPosted":
                        found.add(event["payload"]["transfer_id"])
        return found
    finally:
        consumer.close()


def check(world: World, load: Load, layout: Layout, started: datetime) -> dict:
    client = MongoClient(layout.mongo_url)
    ledger, settlement = client["timebank_ledger"], client["timebank_settlement"]
    lost, doubled, problems = Counter(), Counter(), []
    try:
        for op, rec in load.transfers.items():
            docs = list(ledger.transfers.find({"memo": op}, {"state": 1}))
            if len(docs) > 1:
                doubled["transfer"] += 1
            if rec["acked"] and not docs:
                lost["transfer"] += 1
            if rec["confirmed"] and not any(d["state"] == "posted" for d in docs):
                lost["transfer confirm"] += 1
        for rid, rec in load.claims.items():
            n = ledger.transfers.count_documents({"reference.id": rid})
            if n > 1:
                doubled["claim"] += 1
            if rec["claimed"] and n == 0:
                lost["claim"] += 1
            if rec["completed"] and not ledger.transfers.find_one({"reference.id": rid, "state": "posted"}):
                lost["claim confirm"] += 1
        for op, rec in load.redemptions.items():
            if not rec["acked"]:
                continue
            rid = rec["acked"]
            if settlement.redemptions.count_documents({"_id": rid}) != 1:
                lost["redemption"] += 1
            n = ledger.transfers.count_documents({"reference.id": rid})
            doubled["redemption"] += n > 1
            lost["redemption transfer"] += n == 0
            if rec["confirmed"] and not ledger.transfers.find_one({"reference.id": rid, "state": "posted"}):
                lost["redemption confirm"] += 1
        posted = {d["_id"] for d in ledger.transfers.find({"community_id": world.cid, "state": "posted"}, {"_id": 1})}
        on_kafka = posted_on_kafka(layout.kafka_bootstrap)
        missing = posted - on_kafka
        if missing:
            lost["posted transfer not on Kafka"] += len(missing)
    finally:
        client.close()
    audit = world.gw.ok("GET", "ledger/v1/admin/audit", world.admin["token"])
    if not audit.get("ok"):
        problems.append(f"audit: {audit.get('problems')}")
    batch_status, batch = world.gw.call("POST", f"settlement/v1/merchants/{world.merchant_id}/batches",
                                        world.admin["token"], {"close": True})
    recon = world.gw.ok("GET", f"settlement/v1/merchants/{world.merchant_id}/reconciliation", world.admin["token"],
                        params={"since": (started - timedelta(minutes=5)).isoformat(),
                                "until": (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()})
    if not recon.get("balanced"):
        problems.append(f"reconciliation: {recon}")
    return {"lost": +lost, "doubled": +doubled, "problems": problems, "posted": len(posted),
            "on_kafka": len(posted & on_kafka), "audit": audit, "batch": (batch_status, batch), "recon": recon}


def settle(layout: Layout, stack: SupervisedStack, timeout: float = 300) -> float:
    """Wait until the stack is ready again and every outbox is drained; returns the seconds it took."""
    started = time.monotonic()
    stack.wait_ready(timeout=timeout)
    client = MongoClient(layout.mongo_url)
    try:
        dbs = [f"timebank_{s}" for s in layout.services if s != "gateway"]
        wait_until(lambda: all(
            client[db].outbox.count_documents({"sent": False}) == 0 for db in dbs),
            timeout=timeout, interval=1, message="every outbox to drain")
    finally:
        client.close()
    time.sleep(5)  # consumers apply what the relays just published
    return time.monotonic() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--fault-every", type=float, default=8.0, help="seconds between faults")
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs) afterwards")
    args = parser.parse_args(argv)
    ensure_all()
    base = Path(tempfile.mkdtemp(prefix="chaos-"))
    layout = Layout.free(base, env={"LEDGER_MONEY_RATE_LIMIT": "100000/minute",
                                    "SETTLEMENT_MONEY_RATE_LIMIT": "100000/minute", "LOG_LEVEL": "WARNING"})
    stack = SupervisedStack(layout)
    print(f"chaos: stack under supervisord in {base} (gateway {layout.url('gateway')})", flush=True)
    stack.start()
    code = 1
    try:
        print(f"ready after {stack.wait_ready(timeout=600):.0f}s; seeding …", flush=True)
        gw = Client(layout.url("gateway"))
        world = World(gw, args.residents, earners=3)
        load = Load(world, args.seed)
        faults = Faults(stack, args.seed)
        started_at = datetime.now(timezone.utc)
        t0 = time.monotonic()
        deadline = t0 + args.minutes * 60
        stop = threading.Event()
        print(f"running {args.minutes:g} min: {args.clients} clients, a fault every {args.fault_every:g}s", flush=True)
        clients = [threading.Thread(target=load.run, args=(i, deadline), daemon=True) for i in range(args.clients)]
        for t in clients:
            t.start()
        injector = threading.Thread(target=faults.run, args=(deadline, args.fault_every, stop), daemon=True)
        injector.start()
        for t in clients:
            t.join()
        stop.set()
        injector.join()
        ran = time.monotonic() - t0
        settled = settle(layout, stack)
        result = check(world, load, layout, started_at)
        acked = {"transfers": sum(1 for r in load.transfers.values() if r["acked"]),
                 "transfer confirms": sum(1 for r in load.transfers.values() if r["confirmed"]),
                 "claims": sum(1 for r in load.claims.values() if r["claimed"]),
                 "claims completed": sum(1 for r in load.claims.values() if r["completed"]),
                 "redemptions": sum(1 for r in load.redemptions.values() if r["acked"]),
                 "redemption confirms": sum(1 for r in load.redemptions.values() if r["confirmed"])}
        print("\n== chaos run")
        print(f"ran {ran / 60:.1f} min, settled in {settled:.0f}s; stack restarts by hand: 0")
        print(f"faults injected: {sum(faults.injected.values())}  {dict(faults.injected)}")
        print(f"operations acknowledged: {sum(acked.values())}  {acked}")
        print(f"refused (4xx answers, nothing written): {dict(load.refused)}")
        print(f"client retries (through faults): {sum(gw.retries.values())}  {dict(gw.retries)}")
        print(f"lost: {sum(result['lost'].values())}  {dict(result['lost'])}")
        print(f"doubled: {sum(result['doubled'].values())}  {dict(result['doubled'])}")
        print(f"posted transfers: {result['posted']}, on Kafka: {result['on_kafka']}")
        audit = result["audit"]
        print(f"ledger audit: ok={audit.get('ok')} accounts={audit.get('accounts')} entries={audit.get('entries')} "
              f"problems={audit.get('problems')}")
        batch_status, batch = result["batch"]
        print(f"settlement batch: HTTP {batch_status} {({k: batch.get(k) for k in ('redemption_count', 'points', 'fen')} if isinstance(batch, dict) else batch)}")
        print(f"reconciliation balanced: {result['recon'].get('balanced')}")
        if load.slow:
            print(f"event hops slower than 60 s (waited again): {len(load.slow)}")
        if load.errors:
            print(f"client errors ({len(load.errors)}): " + "; ".join(load.errors[:10]))
        if result["problems"]:
            print("problems: " + "; ".join(result["problems"]))
        code = 0 if not (result["lost"] or result["doubled"] or result["problems"]) else 1
    finally:
        stopped = stack.stop()
        print(f"supervisord stopped ({stopped}); logs: {layout.log_dir}" if args.keep else
              f"supervisord stopped ({stopped})")
        if not args.keep:
            import shutil
            shutil.rmtree(base, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
