"""Seed the demo deployment through the gateway, step by step; every step first looks for what it would make,
so a second run (or a run after an interrupted one) only adds what is missing and says so.

The demo acts for residents (accepts, checks in, claims, confirms, rates) only on the requests it posted in
this run. A request it finds from an earlier run may since have been moved on by the real person (the tips
invite residents to confirm the pending exchange by hand): it is reported as it stands, never touched."""
from __future__ import annotations

import argparse
import os
from collections import Counter
from datetime import datetime, timedelta, timezone

from services.demo import history, past_points
from services.demo.client import DemoError, Gateway
from services.demo.data import ADMIN_PIN, COMMUNITIES, PARTNERSHIP, RESIDENT_PIN, Community, Resident


TODAY = datetime.now(timezone.utc)  # the history's months end before this one


class Seeder:
    """Makes (or finds) one community's demo data; counts what it had to create."""

    def __init__(self, gw: Gateway, operator_key: str, created: Counter, requests_config=None, ledger_config=None):
        self.gw = gw
        self.requests_config = requests_config  # where the requests service keeps its data (the history's past)
        self.ledger_config = ledger_config  # where the ledger keeps its data (the past points' import)
        self.operator_key = operator_key
        self.created = created
        self.tokens: dict[str, str] = {}

    def say(self, community: Community, text: str) -> None:
        print(f"[{community.code}] {text}", flush=True)

    def login(self, community: Community, phone: str, pin: str) -> dict:
        """A token for a member (each member logs in once per run: logins are rate limited)."""
        if phone not in self.tokens:
            status, body = self.gw.call("POST", "community/v1/auth/login",
                                        json={"community_code": community.code, "phone": phone, "password": pin})
            if status != 200:
                raise DemoError(f"cannot log in {phone} to {community.code}: {body.get('detail')} — was this "
                                "community made by something other than the demo?")
            self.tokens[phone] = body
        return self.tokens[phone]

    # -- community, grids, members --------------------------------------------------------------------
    def community(self, c: Community) -> tuple[str, str]:
        """(community id, admin token)."""
        status, body = self.gw.call("POST", "community/v1/communities", headers={"X-Operator-Key": self.operator_key},
                                    json={"code": c.code, "name": c.name, "point_value_fen": c.point_value_fen,
                                          "settings": c.settings, "admin": {"display_name": c.admin_name,
                                                                            "phone": c.admin_phone,
                                                                            "password": ADMIN_PIN}})
        if status == 201:
            self.created["communities"] += 1
            self.say(c, f"community {c.name}: created")
        elif status == 409:
            self.say(c, f"community {c.name}: already there")
        else:
            raise DemoError(f"creating community {c.code} answered {status}: {body.get('detail')}")
        admin = self.login(c, c.admin_phone, ADMIN_PIN)
        return admin["community_id"], admin["token"]

    def grids(self, c: Community, cid: str, admin: str) -> dict[str, str]:
        """Grid name -> id."""
        existing = {g["name"]: g["grid_id"] for g in self.gw.ok("GET", f"community/v1/communities/{cid}/grids",
                                                                 admin)["items"]}
        new = 0
        for name, neighbours in c.grids:
            if name not in existing:
                body = {"name": name, "neighbours": [existing[n] for n in neighbours if n in existing]}
                existing[name] = self.gw.ok("POST", f"community/v1/communities/{cid}/grids", admin, body)["grid_id"]
                new += 1
        self.created["grids"] += new
        self.say(c, f"grids: {', '.join(n for n, _ in c.grids)} ({new} new)")
        return existing

    def members(self, c: Community, cid: str, admin: str, grids: dict[str, str],
                merchants: dict[str, str]) -> dict[str, dict]:
        """Resident key -> member document."""
        by_phone, offset = {}, 0
        while True:
            page = self.gw.ok("GET", f"community/v1/communities/{cid}/members", admin,
                              params={"limit": 200, "offset": offset})
            by_phone.update({m["phone"]: m for m in page["items"]})
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
        members, new = {}, 0
        for r in c.residents:
            if r.phone not in by_phone:
                by_phone[r.phone] = self.gw.ok("POST", f"community/v1/communities/{cid}/members", admin,
                                               self._member_body(r, grids, merchants))
                new += 1
            members[r.key] = by_phone[r.phone]
        self.created["members"] += new
        vulnerable = sum(r.vulnerable for r in c.residents)
        self.say(c, f"members: {len(c.residents)} residents with skills and availability, "
                    f"{vulnerable} marked vulnerable ({new} new)")
        return members

    @staticmethod
    def _member_body(r: Resident, grids: dict[str, str], merchants: dict[str, str]) -> dict:
        return {"display_name": r.display_name, "phone": r.phone, "password": RESIDENT_PIN,
                "grid_id": grids[r.grid], "roles": list(r.roles), "skills": list(r.skills),
                "availability": list(r.availability), "vulnerable": r.vulnerable,
                "merchant_id": merchants.get(r.merchant) if r.merchant else None}

    # -- merchants and catalogues ---------------------------------------------------------------------
    def merchants(self, c: Community, admin: str, grids: dict[str, str]) -> dict[str, str]:
        """Merchant name -> id (staff are attached once the members exist)."""
        existing = {m["name"]: m["merchant_id"] for m in self.gw.ok("GET", "settlement/v1/merchants", admin)["items"]}
        for m in c.merchants:
            if m.name not in existing:
                existing[m.name] = self.gw.ok("POST", "settlement/v1/merchants", admin, {
                    "name": m.name, "kind": m.kind, "address": m.address, "grid_id": grids[m.grid],
                    "settlement_rate_fen_per_point": m.settlement_rate_fen_per_point,
                    "max_discount_share_bp": m.max_discount_share_bp, "min_points": m.min_points,
                    "schedule": "weekly"}, idempotent=True)["merchant_id"]
                self.created["merchants"] += 1
                state = "new"
            else:
                state = "already there"
            self.say(c, f"{'property company' if m.kind == 'property' else 'shop'} {m.name} ({state})")
        return existing

    def staff_and_catalogues(self, c: Community, admin: str, merchants: dict[str, str],
                             members: dict[str, dict]) -> None:
        """Each merchant's staff member and its points-mall items."""
        for m in c.merchants:
            merchant_id, staff_id = merchants[m.name], members[m.staff]["member_id"]
            detail = self.gw.ok("GET", f"settlement/v1/merchants/{merchant_id}", admin)
            if staff_id not in detail.get("staff", []):
                self.gw.ok("PATCH", f"settlement/v1/merchants/{merchant_id}", admin,
                           {"staff": [*detail.get("staff", []), staff_id]})
            items = {i["name"] for i in self.gw.ok("GET", f"settlement/v1/merchants/{merchant_id}/items",
                                                   admin)["items"]}
            new = 0
            for name, price, stock in m.items:
                if name not in items:
                    self.gw.ok("POST", f"settlement/v1/merchants/{merchant_id}/items", admin,
                               {"name": name, "price_points": price, "stock": stock}, idempotent=True)
                    new += 1
            self.created["catalogue items"] += new
            self.say(c, f"{m.name}: {len(m.items)} item(s) in the points mall ({new} new)")

    def property_bills(self, c: Community, merchants: dict[str, str], members: dict[str, dict]) -> dict | None:
        """This month's property-fee bill (物业费抵扣) the property company sends the first exchange's requester,
        open for 30 days: the resident finds it under 物业费抵扣 and in the notification centre."""
        company = next((m for m in c.merchants if m.kind == "property"), None)
        if company is None:
            return None
        key, merchant_id = c.exchanges[0][0], merchants[company.name]
        today = datetime.now(timezone.utc)
        memo = f"{today.year}年{today.month}月物业费"
        mine = self.gw.ok("GET", "settlement/v1/members/me/charges", self.token(c, key))["items"]
        found = next((b for b in mine if b["memo"] == memo and b["merchant_id"] == merchant_id
                      and b["state"] in ("open", "paying", "paid")), None)
        if found is None:
            body = {"bill_fen": 30_000, "memo": memo, "member_id": members[key]["member_id"],
                    "ttl_minutes": 60 * 24 * 30}
            staff = self.token(c, company.staff)

            def send() -> dict | None:
                # Settlement learns residents from the community's events: until it has, the bill is refused (404).
                status, answer = self.gw.call("POST", f"settlement/v1/merchants/{merchant_id}/charges", staff, body)
                return answer if status == 201 else None
            found = self.gw.until("settlement to learn the resident", send)
            self.created["property bills"] += 1
        self.say(c, f"{company.name}: {memo} ¥{found['bill_fen'] // 100} for {self.resident(c, key).display_name} "
                    f"({found['state']})")
        return {"resident": self.resident(c, key), "memo": memo}

    # -- requests and exchanges -----------------------------------------------------------------------
    def resident(self, c: Community, key: str) -> Resident:
        return next(r for r in c.residents if r.key == key)

    def token(self, c: Community, key: str) -> str:
        return self.login(c, self.resident(c, key).phone, RESIDENT_PIN)["token"]

    def ledger_knows(self, c: Community, keys) -> None:
        """Wait until the ledger has opened the exchanges' residents' accounts (from MemberJoined; each HOUR
        account opens with the community's mutual credit, so a requester can pay before having helped)."""
        for key in keys:
            token = self.token(c, key)
            self.gw.until("the ledger to open the members' accounts", lambda: len(
                self.gw.ok("GET", "ledger/v1/balances", token)["items"]) == 2)
        self.say(c, f"ledger accounts open for {len(keys)} resident(s) of the exchanges")

    def ledger_has(self, c: Community, admin: str, member_ids) -> None:
        """Wait until the ledger knows these members (asked as the admin: no login per member)."""
        for member_id in member_ids:
            self.gw.until("the ledger to open the members' accounts", lambda: self.gw.call(
                "GET", f"ledger/v1/admin/members/{member_id}/points", admin, ok=(200, 404))[0] == 200)
        self.say(c, f"ledger accounts open for {len(member_ids)} resident(s) of the history")

    def find_or_post(self, c: Community, key: str, category: str, title: str, minutes: int,
                     urgency: str = "normal", grid_id: str | None = None) -> tuple[dict, bool]:
        """The resident's request with this title, posted now if they have none."""
        token = self.token(c, key)
        mine = self.gw.ok("GET", "requests/v1/requests/mine", token, params={"limit": 100})["items"]
        found = next((r for r in mine if r["title"] == title), None)
        if found:
            return found, False
        now = datetime.now(timezone.utc).replace(microsecond=0)
        body = {"category": category, "title": title, "unit": "HOUR", "estimated_minutes": minutes,
                "window_start": now.isoformat(), "window_end": (now + timedelta(days=6)).isoformat(),
                "urgency": urgency, "grid_id": grid_id,
                "description": "演示数据 · demo data"}
        return self.gw.ok("POST", "requests/v1/requests", token, body, idempotent=True), True

    def open_requests(self, c: Community, grids: dict[str, str]) -> None:
        new = 0
        for key, category, title, minutes, urgency in c.open_requests:
            _, made = self.find_or_post(c, key, category, title, minutes, urgency,
                                        grids[self.resident(c, key).grid])
            new += made
        self.created["open requests"] += new
        self.say(c, f"open requests: {len(c.open_requests)} ({new} new)")

    def exchange(self, c: Community, requester: str, helper: str, category: str, title: str, minutes: int,
                 confirm: bool) -> dict:
        """Drive one help exchange from wherever it stands to claimed (and, if `confirm`, completed and rated)."""
        req, made = self.find_or_post(c, requester, category, title, minutes,
                                      grid_id=None)
        self.created["exchanges"] += made
        rid, r_tok, h_tok = req["request_id"], self.token(c, requester), self.token(c, helper)
        if not made:
            return self.as_found(req, r_tok)
        path = f"requests/v1/requests/{rid}"
        for _ in range(12):  # each pass moves the request one state on
            status = req["status"]
            if status == "open":
                req = self.gw.ok("POST", f"{path}/accept", h_tok)
            elif status == "accepted":
                code = self.gw.ok("POST", f"{path}/codes", r_tok)["code"]
                req = self.gw.ok("POST", f"{path}/check-in", h_tok, {"code": code})
            elif status == "in_progress" and req.get("ended_at") is None:
                # The demo's help takes seconds, so the requester agrees to the real duration first.
                if (req.get("agreed_minutes") or 0) < minutes:
                    self.gw.ok("POST", f"{path}/agree-claim", r_tok, {"minutes": minutes})
                code = self.gw.ok("POST", f"{path}/codes", r_tok)["code"]
                req = self.gw.ok("POST", f"{path}/check-out", h_tok, {"code": code})
            elif status == "in_progress":
                req = self.gw.ok("POST", f"{path}/claim", h_tok, {"minutes": minutes}, idempotent=True)
            elif status == "claimed":
                transfer = self.gw.until("the ledger to open the pending transfer", lambda: next(
                    (t for t in self.gw.ok("GET", "ledger/v1/transfers/awaiting", r_tok)["items"]
                     if (t.get("reference") or {}).get("id") == rid), None))
                if not confirm:
                    return {"request": req, "transfer": transfer}
                self.gw.ok("POST", f"ledger/v1/transfers/{transfer['transfer_id']}/confirm", r_tok, idempotent=True)
                req = self.gw.until("the request to complete", lambda: (
                    lambda r: r if r["status"] == "completed" else None)(self.gw.ok("GET", path, r_tok)))
            elif status == "completed":  # confirmed in this run, by the demo: the requester rates the helper
                req = self.gw.ok("POST", f"{path}/rating", r_tok, {"stars": 5, "comment": "非常及时，谢谢！"})
                return {"request": req}
            else:
                raise DemoError(f"the demo exchange {title!r} is {status}; reset the demo data to run it again")
            if status == req["status"]:
                req = self.gw.ok("GET", path, r_tok)
        raise DemoError(f"the demo exchange {title!r} did not move on from {req['status']}")

    def confirm_bills(self, c: Community, claimed: dict[str, list[str]]) -> None:
        """Each requester confirms the ledger's pending bills for the history's claims (the helpers' hours post)."""
        confirmed = 0
        for key, request_ids in sorted(claimed.items()):
            token, waiting = self.token(c, key), set(request_ids)
            while waiting:
                bills = self.gw.until("the ledger to open the history's bills", lambda: [
                    t for t in self.gw.ok("GET", "ledger/v1/transfers/awaiting", token, params={"limit": 100})["items"]
                    if (t.get("reference") or {}).get("id") in waiting])
                for bill in bills:
                    self.gw.ok("POST", f"ledger/v1/transfers/{bill['transfer_id']}/confirm", token, idempotent=True)
                    waiting.discard(bill["reference"]["id"])
                    confirmed += 1
        self.say(c, f"history: {confirmed} bill(s) confirmed by their requesters")

    def as_found(self, req: dict, requester_token: str) -> dict:
        """An exchange from an earlier run, as it stands now (read only), with its pending transfer if any."""
        awaiting = self.gw.ok("GET", "ledger/v1/transfers/awaiting", requester_token)["items"]
        transfer = next((t for t in awaiting if (t.get("reference") or {}).get("id") == req["request_id"]), None)
        return {"request": req, "transfer": transfer, "found": True}

    def describe(self, c: Community, requester: str, outcome: dict) -> str:
        """Where an exchange stands, from what the services answered (never from what the demo meant to do)."""
        req, transfer = outcome["request"], outcome.get("transfer")
        if transfer is not None:
            state = (f"claimed {transfer['amount']} min, waiting for {self.resident(c, requester).display_name} "
                     "to confirm")
        elif req["status"] == "completed":
            state = "completed and rated" if req.get("rating") else "completed"
        else:
            state = req["status"]
        return state + (" (found from an earlier run, left as it is)" if outcome.get("found") else "")

    # -- partner communities (互认) ---------------------------------------------------------------------
    def partnership(self, results: list[dict]) -> dict:
        """The demo's two communities honour each other's hours and points: the proposer's admin proposes, the
        partner's admin accepts, and the exchange opens a trust line per unit. An agreement found live is taken
        as it stands (only a proposal still waiting for the partner's answer is accepted)."""
        p = PARTNERSHIP
        by_code = {r["community"].code: r for r in results}
        proposer, partner = by_code[p.proposer]["community"], by_code[p.partner]["community"]
        admin = {c.code: self.login(c, c.admin_phone, ADMIN_PIN)["token"] for c in (proposer, partner)}
        mine = self.gw.ok("GET", "community/v1/partners", admin[proposer.code])["items"]
        agreement = next((a for a in mine if a["state"] in ("proposed", "active", "suspended")
                          and {a["proposer"]["code"], a["partner"]["code"]} == {proposer.code, partner.code}), None)
        made = agreement is None
        if made:
            agreement = self.gw.ok("POST", "community/v1/partners", admin[proposer.code], {
                "partner_code": partner.code, "clearing_period": p.clearing_period,
                "units": [{"unit": unit, "net_limit": limit} for unit, limit in p.units]})
            self.created["partner agreements"] += 1
        if agreement["state"] == "proposed" and agreement["partner"]["code"] == partner.code:
            agreement = self.gw.ok("POST", f"community/v1/partners/{agreement['agreement_id']}/accept",
                                   admin[partner.code])
        if agreement["state"] == "active":
            self.gw.until("the exchange to open the trust lines", lambda: len([
                line for line in self.gw.ok("GET", "exchange/v1/trust-lines", admin[proposer.code],
                                            params={"status": "open"})["items"]
                if line["agreement_id"] == agreement["agreement_id"]]) == len(agreement["units"]))
        terms = ", ".join(f"{t['unit']} net limit {t['net_limit']} {t['limit_measure']}" for t in agreement["units"])
        self.say(proposer, f"partner agreement with {partner.name}: {agreement['state']} ({terms}; "
                           f"{'new' if made else 'already there'})")
        finder = by_code[p.partner]["members"][p.finder]
        return {"agreement": agreement, "proposer": proposer, "partner": partner, "finder": finder}

    def across(self, partners: dict, results: list[dict]) -> None:
        """One completed cross-community exchange: a resident of the proposer gives the partner's finder some
        minutes through the ledger (pending, converted 1:1 through the HOUR trust line) and the finder confirms it
        in their own community. Found from an earlier run (an entry against the clearing account), it is left."""
        p = PARTNERSHIP
        giver_c, taker_c = partners["proposer"], partners["partner"]
        if partners["agreement"]["state"] != "active":
            return
        by_code = {r["community"].code: r for r in results}
        a_id, b_id = by_code[giver_c.code]["cid"], by_code[taker_c.code]["cid"]
        giver, taker = self.resident(giver_c, p.giver), self.resident(taker_c, p.finder)
        self.ledger_knows(giver_c, [p.giver])
        g_tok, t_tok = self.token(giver_c, p.giver), self.token(taker_c, p.finder)
        clearing = f"p:{a_id}:{b_id}:HOUR"
        entries = self.gw.ok("GET", "ledger/v1/entries", g_tok, params={"unit": "HOUR", "limit": 100})["items"]
        state = "already there"
        if not any(e["counter_account"] == clearing for e in entries):
            waiting = next((t for t in self.gw.ok("GET", "ledger/v1/transfers/awaiting", t_tok)["items"]
                            if (t.get("cross") or {}).get("payer_community") == a_id), None)
            if waiting is None:  # the ledger learns the trust line from exchange.events a moment after it opens
                body = {"workflow": "credit", "unit": "HOUR", "amount": p.gift_minutes, "memo": p.gift_memo,
                        "counterparty_id": by_code[taker_c.code]["members"][p.finder]["member_id"],
                        "counterparty_community": b_id}
                waiting = self.gw.until("the ledger to learn the trust line", lambda: (
                    lambda status, made: made if status == 201 else None)(
                    *self.gw.call("POST", "ledger/v1/transfers", g_tok, body, idempotent=True)))
            self.gw.ok("POST", f"ledger/v1/transfers/{waiting['transfer_id']}/confirm", t_tok, idempotent=True)
            self.created["cross-community exchanges"] += 1
            state = "confirmed (new)"
        self.say(giver_c, f"cross-community exchange: {giver.display_name} gave {taker.display_name} of "
                          f"{taker_c.name} {p.gift_minutes} min: {state}")

    # -- one community --------------------------------------------------------------------------------
    def seed(self, c: Community) -> dict:
        """Everything for one community; returns what the summary needs."""
        cid, admin = self.community(c)
        grids = self.grids(c, cid, admin)
        merchants = self.merchants(c, admin, grids)
        members = self.members(c, cid, admin, grids, merchants)
        self.staff_and_catalogues(c, admin, merchants, members)
        bill = self.property_bills(c, merchants, members)
        self.ledger_knows(c, sorted({key for e in c.exchanges for key in e[:2]}))
        self.ledger_has(c, admin, [members[k]["member_id"] for k in history.participants(c, TODAY)])
        history.seed_history(self, c, cid, members, grids, TODAY)
        past_points.seed_past_points(self, c, cid, members, TODAY)
        self.open_requests(c, grids)
        outcomes = []
        for requester, helper, category, title, minutes, confirm in c.exchanges:
            outcome = self.exchange(c, requester, helper, category, title, minutes, confirm)
            self.say(c, f"exchange 「{title}」: {self.describe(c, requester, outcome)}")
            outcomes.append((requester, helper, title, confirm, outcome))
        return {"community": c, "cid": cid, "outcomes": outcomes, "members": members, "bill": bill}


def summary(gw: Gateway, seeder: Seeder, results: list[dict], partners: dict, base_url: str) -> None:
    """Logins and what to try."""
    print("\nDemo logins (demo credentials — never use them in a real deployment):")
    print(f"  {'community':<10} {'who':<34} {'phone':<13} PIN")
    for result in results:
        c = result["community"]
        print(f"  {c.code:<10} {'admin ' + c.admin_name:<34} {c.admin_phone:<13} {ADMIN_PIN}")
        for requester, helper, title, confirm, _ in result["outcomes"]:
            for key, role in ((requester, "asked for"), (helper, "helped with")):
                r = seeder.resident(c, key)
                print(f"  {c.code:<10} {r.display_name + ' (' + role + ' ' + title + ')':<34} {r.phone:<13} "
                      f"{RESIDENT_PIN}")
        for m in c.merchants:
            r = seeder.resident(c, m.staff)
            print(f"  {c.code:<10} {r.display_name + ' (staff, ' + m.name + ')':<34} {r.phone:<13} {RESIDENT_PIN}")
    print(f"  every other demo resident: phones 139000100xx (lianhua) / 139000200xx (taoyuan), PIN {RESIDENT_PIN}")
    for result in results:
        c = result["community"]
        for requester, helper, title, _, outcome in result["outcomes"]:
            h = seeder.resident(c, helper)
            balances = gw.ok("GET", "ledger/v1/balances", seeder.token(c, helper))["items"]
            hours = next((a["posted"] for a in balances if a["unit"] == "HOUR"), 0)
            # An exchange the demo leaves pending may since have been confirmed by hand (as the tips suggest).
            transfer = outcome.get("transfer")
            print(f"\n[{c.code}] {h.display_name} helped with 「{title}」: HOUR balance {hours // 60} h {hours % 60} min"
                  + (f" (pending: {transfer['amount']} min)" if transfer else ""))
    pending = [(r["community"], o) for r in results for o in r["outcomes"] if o[4].get("transfer")]
    tips = [f"Open {base_url}/ on a phone or browser; log in with a community code, phone and PIN above."]
    for c, (requester, _, title, _, _) in pending:
        r = seeder.resident(c, requester)
        tips.append(f"As {r.display_name} ({c.code}, {r.phone}) confirm the pending 「{title}」: the helper's "
                    "hours post at once.")
    proposer, partner, finder = partners["proposer"], partners["partner"], partners["finder"]
    tips.append(f"As admin {proposer.admin_name} ({proposer.code}) open {base_url}/admin: the partner agreement with "
                f"{partner.name}, its trust lines (rate, net position, headroom) and clearing records.")
    for result in results:
        c = result["community"]
        worker = seeder.resident(c, "grid_worker")
        tips.append(f"As admin {c.admin_name} ({c.code}) open {base_url}/admin/dashboards: {history.HISTORY_MONTHS} "
                    f"months of requests in every grid, today's points, the sponsor budget's coverage, each chart with "
                    f"its table and CSV; as grid worker {worker.display_name} ({worker.phone}) {base_url}/staff/dashboard "
                    f"shows their grid's.")
    tips.append(f"As any {proposer.code} resident open {base_url}/r/partners, pick {partner.name} and look up the handle "
                f"{finder['handle']} ({finder['display_name']}) to see what a payment converts to.")
    for result in results:
        if result.get("bill"):
            r, c = result["bill"]["resident"], result["community"]
            tips.append(f"As {r.display_name} ({c.code}, {r.phone}) open {base_url}/r/property-fee: "
                        f"{result['bill']['memo']} from the property company, to pay partly in points.")
    tips.append(f"Browse open requests: curl -H 'Authorization: Bearer <token>' {base_url}/api/requests/v1/requests")
    tips.append(f"Points mall: {base_url}/api/settlement/v1/merchants (with a token), then "
                "/api/settlement/v1/merchants/<id>/items")
    print("\nWhat to try:")
    for number, tip in enumerate(tips, 1):
        print(f"  {number}. {tip}")


def main(argv=None, requests_config=None, ledger_config=None) -> int:
    """Seed the demo; exit 1 with a clear message if the deployment is not up."""
    parser = argparse.ArgumentParser(prog="python -m services.demo", description=__doc__)
    parser.add_argument("--gateway", default=os.environ.get("DEMO_GATEWAY_URL", "http://127.0.0.1:8000"),
                        help="the gateway's base URL (env DEMO_GATEWAY_URL)")
    parser.add_argument("--public-url", default=os.environ.get("DEMO_PUBLIC_URL"),
                        help="where users reach the gateway, if not --gateway (env DEMO_PUBLIC_URL)")
    args = parser.parse_args(argv)
    operator_key = os.environ.get("COMMUNITY_OPERATOR_KEY", "dev-operator-key")
    gw = Gateway(args.gateway)
    created: Counter = Counter()
    seeder = Seeder(gw, operator_key, created, requests_config, ledger_config)
    print(f"Seeding the demo deployment through {args.gateway} …", flush=True)
    try:
        results = [seeder.seed(c) for c in COMMUNITIES]
        partners = seeder.partnership(results)
        seeder.across(partners, results)
        made = {what: n for what, n in created.items() if n}
        if made:
            print("\nCreated: " + ", ".join(f"{n} {what}" for what, n in made.items()))
        else:
            print("\nThe demo deployment was already seeded: everything was found, nothing new was created.")
        summary(gw, seeder, results, partners, (args.public_url or args.gateway).rstrip("/"))
    except DemoError as exc:
        print(f"\ndemo stopped: {exc}", flush=True)
        return 1
    return 0
