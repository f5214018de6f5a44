// The residents' page: log in through /api/community, then read balances and confirmations from /api/ledger.
"use strict";

const TEXT = {
  zh: { title: "邻里时间银行", login: "居民登录", community: "社区代码", phone: "手机号", pin: "密码 / PIN",
        signin: "登录", logout: "退出", hello: "你好", awaiting: "待我确认", entries: "最近记录",
        HOUR: "时间（小时）", PT: "积分", pending: "待确认", available: "可用", none: "暂无",
        confirm: "确认", reject: "拒绝", rejectReason: "拒绝原因：", hours: "小时", minutes: "分钟",
        points: "分", failed: "出错了，请稍后再试", other: "English" },
  en: { title: "Neighbourhood time bank", login: "Resident sign-in", community: "Community code",
        phone: "Phone number", pin: "Password / PIN", signin: "Sign in", logout: "Sign out", hello: "Hello",
        awaiting: "Waiting for my confirmation", entries: "Recent entries", HOUR: "Time (hours)", PT: "Points",
        pending: "pending", available: "available", none: "Nothing yet", confirm: "Confirm", reject: "Reject",
        rejectReason: "Reason for rejecting:", hours: "h", minutes: "min", points: "pts",
        failed: "Something went wrong; try again shortly", other: "中文" },
};
// Chinese first; English is one tap away and remembered.
let lang = localStorage.getItem("lang") === "en" ? "en" : "zh";
const t = (key) => TEXT[lang][key] || key;
const $ = (id) => document.getElementById(id);

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = lang === "zh" ? "邻里时间银行 · Neighbourhood time bank" : "Neighbourhood time bank · 邻里时间银行";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  $("lang").textContent = t("other");
}

// HOUR amounts are minutes, PT amounts are points (integers everywhere).
function amount(unit, value) {
  if (value === null || value === undefined) return "∞";
  if (unit !== "HOUR") return `${value} ${t("points")}`;
  const sign = value < 0 ? "-" : "";
  const abs = Math.abs(value);
  const h = Math.floor(abs / 60), m = abs % 60;
  return m ? `${sign}${h} ${t("hours")} ${m} ${t("minutes")}` : `${sign}${h} ${t("hours")}`;
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = sessionStorage.getItem("token");
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/${path}`, { ...options, headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401 && token) { signOut(); }
  if (!response.ok) throw new Error(data.detail || data.title || t("failed"));
  return data;
}

function item(text, extraClass) {
  const li = document.createElement("li");
  const span = document.createElement("span");
  span.textContent = text;
  li.appendChild(span);
  if (extraClass) li.classList.add(extraClass);
  return li;
}

function renderBalances(accounts) {
  const box = $("balances");
  box.replaceChildren();
  for (const unit of ["HOUR", "PT"]) {
    const acc = accounts.find((a) => a.unit === unit) || { posted: 0, pending_in: 0, pending_out: 0 };
    const card = document.createElement("div");
    card.className = "balance";
    const label = document.createElement("div"); label.className = "sub"; label.textContent = t(unit);
    const value = document.createElement("div"); value.className = "value"; value.textContent = amount(unit, acc.posted);
    const sub = document.createElement("div"); sub.className = "sub";
    const pending = acc.pending_in - acc.pending_out;
    sub.textContent = `${t("pending")} ${pending >= 0 ? "+" : ""}${amount(unit, pending)}`
      + (acc.available !== undefined ? ` · ${t("available")} ${amount(unit, acc.available)}` : "");
    card.append(label, value, sub);
    box.appendChild(card);
  }
}

function renderAwaiting(transfers) {
  const list = $("awaiting");
  list.replaceChildren();
  if (!transfers.length) { list.appendChild(item(t("none"), "muted")); return; }
  for (const tr of transfers) {
    const li = item(`${tr.memo || tr.workflow} · ${amount(tr.unit, tr.amount)}`);
    const actions = document.createElement("span");
    const ok = document.createElement("button"); ok.className = "small"; ok.textContent = t("confirm");
    ok.onclick = () => resolve(tr.transfer_id, "confirm");
    const no = document.createElement("button"); no.className = "small bad"; no.textContent = t("reject");
    no.onclick = () => { const reason = prompt(t("rejectReason")); if (reason) resolve(tr.transfer_id, "reject", { reason }); };
    actions.append(ok, no);
    li.appendChild(actions);
    list.appendChild(li);
  }
}

function renderEntries(page) {
  const list = $("entries");
  list.replaceChildren();
  if (!page.items.length) { list.appendChild(item(t("none"), "muted")); return; }
  for (const e of page.items) {
    const li = item(`${(e.posted_at || "").slice(0, 10)} · ${e.workflow || ""}`);
    const value = document.createElement("span");
    value.className = e.delta >= 0 ? "plus" : "minus";
    value.textContent = `${e.delta >= 0 ? "+" : ""}${amount(e.unit, e.delta)}`;
    li.appendChild(value);
    list.appendChild(li);
  }
}

async function resolve(transferId, action, body = {}) {
  try {
    // One key per click: a retried click after a network error must not move money twice.
    await api(`ledger/v1/transfers/${encodeURIComponent(transferId)}/${action}`,
      { method: "POST", body, headers: { "Idempotency-Key": crypto.randomUUID() } });
    await loadHome();
  } catch (err) { $("home-error").textContent = err.message; }
}

async function loadHome() {
  $("home-error").textContent = "";
  const me = await api("community/v1/members/me");
  $("member-name").textContent = me.display_name;
  const results = await Promise.allSettled([api("ledger/v1/balances"), api("ledger/v1/transfers/awaiting"),
                                            api("ledger/v1/entries?limit=10")]);
  const [balances, awaiting, entries] = results;
  if (balances.status === "fulfilled") renderBalances(balances.value);
  if (awaiting.status === "fulfilled") renderAwaiting(awaiting.value);
  if (entries.status === "fulfilled") renderEntries(entries.value);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) $("home-error").textContent = failed.reason.message;
}

function show(signedIn) {
  $("login-view").hidden = signedIn;
  $("home-view").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

function signOut() {
  sessionStorage.removeItem("token");
  show(false);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  const form = new FormData(event.target);
  try {
    const answer = await api("community/v1/auth/login", { method: "POST", body: {
      community_code: form.get("community_code").trim(), phone: form.get("phone").trim(),
      password: form.get("password") } });
    sessionStorage.setItem("token", answer.token);
    event.target.reset();
    show(true);
    await loadHome();
  } catch (err) { $("login-error").textContent = err.message; }
});
$("logout").addEventListener("click", signOut);
$("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("lang", lang);
  applyLanguage();
  if (sessionStorage.getItem("token")) loadHome().catch((err) => { $("home-error").textContent = err.message; });
});

applyLanguage();
if (sessionStorage.getItem("token")) { show(true); loadHome().catch((err) => { $("home-error").textContent = err.message; }); }
