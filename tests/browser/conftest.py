"""The web app in a real Chromium against the real stack.

Every service of the project runs in-process on the session's Kafka and MongoDB (its relay and consumers in
threads) and is served over real HTTP on a free port; the gateway in front serves the built app (make web) and
proxies /api/<service>/. Residents and shop staff are browser contexts at a phone's size. Every page fails its
test on a console error, an uncaught exception or a CSP violation, and every screen is checked with axe-core.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from shared.config import Config
from shared.testing import wait_until
from services.gateway.app import create_app

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "services" / "gateway" / "web"
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OPERATOR = {"X-Operator-Key": "dev-operator-key"}
PHONE = {"width": 390, "height": 844}
SERVICES = ("community", "requests", "matching", "ledger", "settlement", "notifications")
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request drowns the failures
SCREENSHOTS = os.environ.get("WEB_SCREENSHOTS")  # a folder: the screen tests save what they see there


class Served:
    """A WSGI app on a fixed loopback port that can be stopped and started again (to show an outage)."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = None
        self._run()

    def _run(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._run()


class Site:
    """The served stack plus an admin who sets a community up through the gateway (the staff console's job)."""

    def __init__(self, deployment, served: dict[str, Served], gateway: Served, name: str = "莲花社区",
                 point_value_fen: int = 10):
        self.dep, self.served, self.gateway, self.url = deployment, served, gateway, gateway.url
        self.code = f"web-{uuid.uuid4().hex[:6]}"
        made = self.call("post", "/community/v1/communities", headers=OPERATOR, json={
            "code": self.code, "name": name, "point_value_fen": point_value_fen,
            "admin": {"display_name": "赵书记", "phone": "13800000001", "password": "admin-pass-1"}})
        assert made.status_code == 201, made.text
        self.cid = made.json()["community"]["community_id"]
        self.admin = self.login("13800000001", "admin-pass-1")
        self.grids = {name: self.call("post", f"/community/v1/communities/{self.cid}/grids", token=self.admin,
                                      json={"name": name}).json()["grid_id"] for name in ("1号楼", "2号楼")}
        self.organizer = self.member("孙组长", roles=("organizer",))

    def call(self, method: str, path: str, token: str | None = None, headers: dict | None = None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.url}/api{path}", headers=headers, timeout=30, **kwargs)

    def login(self, phone: str, password: str) -> str:
        answer = self.call("post", "/community/v1/auth/login",
                           json={"community_code": self.code, "phone": phone, "password": password})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    def member(self, name: str, roles=("resident",), grid="1号楼", merchant_id=None, **fields) -> dict:
        """A member the admin registers; waits until the ledger (and settlement) know them."""
        phone = f"139{uuid.uuid4().int % 10**8:08d}"
        body = {"display_name": name, "phone": phone, "password": "pass-word-1", "roles": list(roles),
                "grid_id": self.grids[grid], "merchant_id": merchant_id, **fields}
        made = self.call("post", f"/community/v1/communities/{self.cid}/members", token=self.admin, json=body)
        assert made.status_code == 201, made.text
        person = {"name": name, "phone": phone, "password": "pass-word-1", "member_id": made.json()["member_id"]}
        person["token"] = self.login(phone, "pass-word-1")
        wait_until(lambda: len(self.balances(person)) == 2, timeout=180, message=f"the ledger to open {name}'s accounts")
        wait_until(lambda: self.dep.services["settlement"].db.members.find_one({"_id": person["member_id"]}),
                   timeout=180, message=f"settlement to learn {name}")
        return person

    def balances(self, person: dict) -> dict:
        answer = self.call("get", "/ledger/v1/balances", token=person["token"])
        return {a["unit"]: a for a in answer.json()} if answer.status_code == 200 else {}

    def hours_overdraft(self, person: dict, minutes: int) -> None:
        account = self.balances(person)["HOUR"]["account_id"]
        granted = self.call("post", f"/ledger/v1/admin/accounts/{account}/credit-limit", token=self.admin,
                            json={"credit_limit": minutes})
        assert granted.status_code == 200, granted.text

    def give_points(self, person: dict, days: int = 1) -> int:
        """Points the member earns from community awards the organizer confirms (a high-risk day each: under the
        default rules a newcomer's first one is capped at the yearly 1,000); returns the member's PT balance."""
        for _ in range(days):
            claim = self.call("post", "/ledger/v1/transfers", token=person["token"], json={
                "workflow": "award", "unit": "PT", "minutes": 1440, "service_class": "high_risk"})
            assert claim.status_code == 201, claim.text
            confirmed = self.call("post", f"/ledger/v1/transfers/{claim.json()['transfer_id']}/confirm",
                                  token=self.organizer["token"])
            assert confirmed.status_code == 200, confirmed.text
        points = self.balances(person)["PT"]["posted"]
        wait_until(lambda: self.dep.services["settlement"].db.ledger_accounts.find_one(
            {"owner_kind": "member", "owner_id": person["member_id"], "unit": "PT", "posted": points}),
            timeout=180, message="settlement to see the member's points")
        return points

    def shop(self, name: str, **terms) -> tuple[dict, dict]:
        """A merchant the admin registers, and one of its staff (a member with the merchant role)."""
        made = self.call("post", "/settlement/v1/merchants", token=self.admin, json={"name": name, **terms})
        assert made.status_code == 201, made.text
        merchant = made.json()
        staff = self.member(f"{name}店员", roles=("merchant",), merchant_id=merchant["merchant_id"])
        wait_until(lambda: self.dep.services["ledger"].db.accounts.find_one(
            {"owner_id": merchant["merchant_id"]}), timeout=180, message="the ledger to open the shop's account")
        return merchant, staff


@pytest.fixture(scope="module")
def site(module_deployment, request):
    """The stack of SERVICES, plus a test module's EXTRA_SERVICES (e.g. the exchange for the partner screens)."""
    if not (WEB / "dist" / "index.html").is_file():
        pytest.fail("the web app is not built: run `make web` (npm ci && npm run build in services/gateway/web)")
    with ExitStack() as stack:
        served = {}
        for name in SERVICES + tuple(getattr(request.module, "EXTRA_SERVICES", ())):
            served[name] = Served(module_deployment.service(name).app)
            stack.callback(served[name].stop)
        env = {f"GATEWAY_{name.upper()}_URL": s.url for name, s in served.items()}
        gateway_app = create_app(Config.from_env("gateway", env=env))
        stack.callback(gateway_app.extensions["upstreams"].close)
        gateway = Served(gateway_app)
        stack.callback(gateway.stop)
        yield Site(module_deployment, served, gateway)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Phone:
    """One person's phone: a browser context at 390×844 that records every console error and checks each screen."""

    def __init__(self, browser, site: Site, who: dict | None = None):
        self.site, self.who = site, who
        self.context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1, has_touch=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)  # a loaded CI machine; nothing here is timed
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        # axe-core from node_modules, served at a same-origin path so the page's CSP (script-src 'self') holds.
        self.page.route("**/__axe.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        # An API answer of 4xx/5xx is logged by Chromium as a failed resource; the app shows it as a message
        # (the tests assert on that). Anything else is a bug: a script error, a CSP refusal, a missing message.
        if message.text.startswith("Failed to load resource") and "/api/" in url:
            return
        self.errors.append(f"{message.text} ({url})")

    # -- moving around ---------------------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.page.goto(f"{self.site.url}{path}")

    def login(self, who: dict | None = None) -> None:
        who = who or self.who
        self.open("/login")
        self.fill("login-community", self.site.code)
        self.fill("login-phone", who["phone"])
        self.fill("login-password", who["password"])
        self.tap("login-submit")
        self.page.wait_for_url(lambda url: "/login" not in url)

    def el(self, test: str):
        return self.page.locator(f'[data-test="{test}"]')

    def fill(self, test: str, value: str) -> None:
        field = self.el(test)
        inner = field.locator("input, textarea")
        (inner.first if field.evaluate("e => !['INPUT', 'TEXTAREA'].includes(e.tagName)") else field).fill(str(value))

    def tap(self, test: str) -> None:
        self.el(test).first.click()

    def text(self, test: str) -> str:
        return self.el(test).first.inner_text()

    def until(self, check, refresh=True, timeout: float = 60.0, message: str = ""):
        """Reload the screen until check() holds (for what arrives through Kafka a moment later)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = check()
            except Exception:  # noqa: BLE001 - a locator not there yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {message or check}")
            time.sleep(0.5)
            if refresh:
                self.page.reload()
                self.page.wait_for_load_state("networkidle")

    # -- checks ------------------------------------------------------------------------------------------------
    def accessible(self, name: str = "") -> None:
        """axe-core on the screen as it is: no serious or critical violation."""
        self.page.wait_for_load_state("networkidle")
        if not self.page.evaluate("() => Boolean(window.axe)"):
            self.page.add_script_tag(url="/__axe.js")
        violations = self.page.evaluate("""async () => {
            const result = await axe.run(document, { resultTypes: ['violations'] });
            return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' :: ' + n.failureSummary) }));
        }""")
        assert not violations, f"axe on {name or self.page.url}: {violations}"
        if SCREENSHOTS and name:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)

    def clean(self) -> None:
        assert not self.errors, f"console errors: {self.errors}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phones(browser, site):
    """Open phones with phones(who); at the end each must have logged no console error."""
    opened: list[Phone] = []

    def open_phone(who: dict | None = None, login: bool = True) -> Phone:
        phone = Phone(browser, site, who)
        opened.append(phone)
        if who and login:
            phone.login()
        return phone

    yield open_phone
    try:
        for phone in opened:
            phone.clean()
    finally:
        for phone in opened:
            phone.close()
