"""Web app benchmark: the first load of the resident home on an emulated slow phone.

    python bench/web_bench.py [--runs 3]

Chromium (Debian's /usr/bin/chromium, driven by Playwright) with CDP throttling: 1.6 Mbps down, 750 kbps up,
150 ms round trip, CPU 4x slower. Each run is a fresh browser context (cold cache) opening /r as a signed-in
resident; it reports the time from navigation start until the balances are on screen, and the JS and CSS bytes
that crossed the network (what the gateway sent: gzip) with their unpacked size, and the waterfall of requests
made before the balances showed. Targets (issue 11):
≤ 250 KB gzip of JS for the resident face and balances visible ≤ 3 s.

Runs community + ledger (the home screen's services) in-process behind the gateway, over the built app
(make web). Uses KAFKA_BOOTSTRAP / MONGO_URL when set, else starts its own Kafka and mongod on free ports.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from services.gateway.app import create_app  # noqa: E402
from shared import devstack  # noqa: E402
from shared.config import Config  # noqa: E402
from shared.testing import Deployment, serve, wait_until  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
CPU_SLOWDOWN = int(os.environ.get("WEB_BENCH_CPU", 4))  # WEB_BENCH_CPU=1: no slowdown, to see the CPU share
RESOURCES = """() => performance.getEntriesByType('resource')
  .filter((r) => /\\.(js|css)(\\?|$)/.test(r.name))
  .map((r) => ({ name: r.name.split('/').pop(), kind: r.name.includes('.css') ? 'css' : 'js',
                 wire: r.encodedBodySize, unpacked: r.decodedBodySize }))"""

# Where the time goes: the page, the last script or style in, and the balances call (start and end).
STEPS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const all = performance.getEntriesByType('resource');
  const code = all.filter((r) => /\\.(js|css)$/.test(r.name));
  const balances = all.find((r) => r.name.includes('/api/ledger/v1/balances'));
  // The waterfall until the balances showed: every request started before then, in order, with its span.
  const before = all.filter((r) => r.startTime < window.__balancesAt).sort((a, b) => a.startTime - b.startTime)
    .map((r) => `${r.name.replace(location.origin, '').split('?')[0]} ${Math.round(r.startTime)}-${Math.round(r.responseEnd)}`);
  return { html_ms: nav.responseEnd, code_ms: Math.max(...code.map((r) => r.responseEnd)),
           api_start_ms: balances ? balances.startTime : null, api_end_ms: balances ? balances.responseEnd : null,
           before };
}"""


def resident(gateway: str) -> dict:
    """A community and one resident, made through the gateway; returns what the browser needs to be signed in."""
    code = f"bench-{uuid.uuid4().hex[:6]}"
    made = requests.post(f"{gateway}/api/community/v1/communities", headers={"X-Operator-Key": "dev-operator-key"},
                         json={"code": code, "name": "基准社区", "admin": {
                             "display_name": "管理员", "phone": "13800000001", "password": "admin-pass-1"}})
    made.raise_for_status()
    cid = made.json()["community"]["community_id"]
    login = lambda phone, pin: requests.post(f"{gateway}/api/community/v1/auth/login", json={  # noqa: E731
        "community_code": code, "phone": phone, "password": pin}).json()["token"]
    admin = login("13800000001", "admin-pass-1")
    requests.post(f"{gateway}/api/community/v1/communities/{cid}/members", headers={"Authorization": f"Bearer {admin}"},
                  json={"display_name": "钱阿姨", "phone": "13900000002", "password": "pass-word-1"}).raise_for_status()
    token = login("13900000002", "pass-word-1")
    wait_until(lambda: len(requests.get(f"{gateway}/api/ledger/v1/balances",
                                        headers={"Authorization": f"Bearer {token}"}).json()) == 2, timeout=60)
    return {"token": token}


def one_load(browser, gateway: str, who: dict) -> dict:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    context.add_init_script(f"sessionStorage.setItem('tb.token', {json.dumps(who['token'])})")
    # When the balances enter the page (a MutationObserver in the page, not Playwright's polling).
    context.add_init_script("""new MutationObserver((_, observer) => {
      if (document.querySelector('[data-test="balance-posted"]')) {
        window.__balancesAt = performance.now(); observer.disconnect(); }
    }).observe(document, { childList: true, subtree: true })""")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    page.goto(f"{gateway}/r", wait_until="commit")
    page.wait_for_selector('[data-test="balance-posted"]', timeout=60_000)
    shown_ms = page.evaluate("window.__balancesAt")
    page.wait_for_load_state("networkidle")
    resources = page.evaluate(RESOURCES)
    steps = page.evaluate(STEPS)
    context.close()
    total = lambda kind, field: sum(r[field] for r in resources if r["kind"] == kind)  # noqa: E731
    return {"balances_ms": shown_ms, "js_wire": total("js", "wire"), "js_unpacked": total("js", "unpacked"),
            "css_wire": total("css", "wire"), "css_unpacked": total("css", "unpacked"),
            "files": sorted(r["name"] for r in resources), **steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (ROOT / "services" / "gateway" / "web" / "dist" / "index.html").is_file():
        sys.exit("the web app is not built: run `make web`")
    with devstack.env_or_local("web-bench") as stack, ExitStack() as exit_stack:
        dep = Deployment(stack.kafka_bootstrap, stack.mongo_url)
        exit_stack.callback(dep.close)
        urls = {name: exit_stack.enter_context(serve(dep.service(name).app)) for name in ("community", "ledger")}
        gateway_app = create_app(Config.from_env("gateway", env={
            "GATEWAY_COMMUNITY_URL": urls["community"], "GATEWAY_LEDGER_URL": urls["ledger"]}))
        exit_stack.callback(gateway_app.extensions["upstreams"].close)
        gateway = exit_stack.enter_context(serve(gateway_app))
        who = resident(gateway)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            runs = [one_load(browser, gateway, who) for _ in range(args.runs)]
            browser.close()
    kb = lambda n: f"{n / 1024:.1f} KB"  # noqa: E731
    median = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    print(f"resident home, first load, 1.6 Mbps / 150 ms RTT / CPU x{CPU_SLOWDOWN}, {args.runs} runs (cold cache); "
          f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (CPU-bound steps scale with it)")
    print(f"  balances visible: median {median('balances_ms') / 1000:.2f} s "
          f"(runs: {', '.join('%.2f' % (r['balances_ms'] / 1000) for r in runs)}; target ≤ 3 s)")
    print(f"  JS  on the wire (gzip): {kb(median('js_wire'))}  (unpacked {kb(median('js_unpacked'))}; target ≤ 250 KB)")
    print(f"  CSS on the wire (gzip): {kb(median('css_wire'))}  (unpacked {kb(median('css_unpacked'))})")
    print(f"  where the time goes (medians): page {median('html_ms'):.0f} ms, scripts and styles in by "
          f"{median('code_ms'):.0f} ms, balances asked at {median('api_start_ms'):.0f} ms and answered at "
          f"{median('api_end_ms'):.0f} ms, shown at {median('balances_ms'):.0f} ms")
    print(f"  files: {', '.join(runs[0]['files'])}")
    print(f"  requests before the balances showed (last run, ms from navigation): {'; '.join(runs[-1]['before'])}")


if __name__ == "__main__":
    main()
