// Security console for security auditors: alerts with evidence, freeze / unfreeze, leak-trace
// cases with their chart, reveals per role, privacy coverage, audit search and verification.
// Everything shown is ids, counts and hashes; the session token stays in this page's memory.
Object.assign(MESSAGES.en, {
  secTitle: "Privacy waybill · Security console", secSignIn: "Security auditor sign-in", secUser: "Username",
  secPassword: "Password", secTotp: "Authenticator code", secLogin: "Sign in", secAlerts: "Alerts",
  secAccounts: "Restricted accounts", secTrace: "Leak tracing", secTraceRun: "Upload a leaked list and trace",
  secAccessor: "Accessor", secSaw: "Saw", secLeaked: "Leaked among them", secOpenReport: "Open the full report",
  secReveals: "Plaintext disclosures per role", secCoverage: "Privacy coverage", secTenant: "Tenant",
  secDay: "Day", secIssued: "Issued", secMasked: "Masked", secSealed: "Sealed", secAudit: "Audit search",
  secActor: "Account (e.g. user:u_…)", secAction: "Action (e.g. waybill.reveal)", secSearch: "Search",
  secTime: "Time", secActorCol: "Account", secActionCol: "Action", secOutcome: "Outcome",
  secVerify: "Audit chain verification", secVerifyNow: "Verify now", freeze: "Freeze", unfreeze: "Unfreeze",
  evidence: "evidence", signedInAs: "Signed in as", noAlerts: "No alerts.", noAccounts: "No restricted accounts.",
  neverVerified: "Not verified since the server started.", intact: "intact", tampered: "TAMPERED",
  entries: "entries", tracing: "Tracing…", matched: "matched", rows: "rows", population: "waybills in scope",
  frozenNow: "frozen", openCase: "Open",
});
Object.assign(ZH, {
  freeze: "冻结", unfreeze: "解冻", evidence: "证据", signedInAs: "已登录：", noAlerts: "暂无告警。",
  noAccounts: "暂无受限账户。", neverVerified: "服务启动以来尚未校验。", intact: "完整", tampered: "已被篡改",
  entries: "条", tracing: "溯源中…", matched: "条已匹配", rows: "行", population: "个运单在范围内",
  frozenNow: "已冻结", openCase: "打开",
});

let token = "";
let signedIn = null;
let traceChart = null;
let revealsChart = null;
let openCaseId = null;
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function applyPlaceholders() {
  document.querySelectorAll("[data-i18n-placeholder]").forEach((input) => {
    if (!input.dataset.zhPlaceholder) input.dataset.zhPlaceholder = input.placeholder;
    input.placeholder = lang === "en" ? MESSAGES.en[input.dataset.i18nPlaceholder] : input.dataset.zhPlaceholder;
  });
}

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    ...options, headers: { Authorization: `Bearer ${token}`, ...(options.headers || {}) },
  });
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}

async function signIn(event) {
  event.preventDefault();
  try {
    const session = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("username").value, password: $("password").value, totp: $("totp").value || null }),
    });
    const body = await session.json();
    if (!session.ok) throw new Error(body.detail || body.title);
    token = body.token;
    signedIn = body;
    showWho();
    $("who").className = "";
    $("login-form").hidden = true;
    $("console").hidden = false;
    await refreshAll();
  } catch (error) {
    $("who").textContent = error.message;
    $("who").className = "error";
  }
}

function showWho() {
  if (signedIn) $("who").textContent = `${t("signedInAs")} ${signedIn.actor} (${signedIn.role})`;
}

async function refreshAll() {
  await Promise.allSettled([loadAlerts(), loadAccounts(), loadCases(), loadReveals(), loadCoverage(), loadVerify()]);
}

async function loadAlerts() {
  const alerts = await api("/alerts?limit=50");
  const list = $("alerts");
  if (!alerts.length) { list.replaceChildren(el("li", t("noAlerts"))); return; }
  list.replaceChildren(...alerts.map((alert) => {
    const item = el("li", undefined, `sev-${alert.severity}`);
    item.dataset.alert = alert.id;
    const head = el("div", undefined, "row");
    head.append(el("strong", alert.kind), el("span", alert.severity, "badge"));
    const who = el("div", undefined, "row");
    who.append(el("span", alert.actor));
    if (/^(user|pass|key|terminal):/.test(alert.actor)) {
      const button = el("button", t("freeze"));
      button.type = "button";
      button.dataset.freeze = alert.actor;
      button.addEventListener("click", () => freeze(alert.actor));
      who.append(button);
    }
    const facts = Object.entries(alert.detail).filter(([k]) => k !== "respond").map(([k, v]) => `${k}=${v}`).join(" · ");
    const evidence = alert.evidence ? `${t("evidence")}: #${alert.evidence.slice(0, 12).join(", #")}` : "";
    item.append(head, who, el("div", `${new Date(alert.at).toLocaleString()} · ${facts}`, "meta"), el("div", evidence, "meta"));
    return item;
  }));
}

async function loadAccounts() {
  const accounts = await api("/security/accounts");
  const list = $("accounts");
  if (!accounts.length) { list.replaceChildren(el("li", t("noAccounts"))); return; }
  list.replaceChildren(...accounts.map((account) => {
    const item = el("li");
    item.dataset.account = account.actor;
    const row = el("div", undefined, "row");
    row.append(el("strong", account.actor), el("span", account.kind, "badge"));
    const button = el("button", t("unfreeze"), "secondary");
    button.type = "button";
    button.addEventListener("click", () => unfreeze(account.actor));
    if (account.kind === "freeze") row.append(button);
    item.append(row, el("div", `${account.signal} · ${account.set_by} · ${new Date(account.since).toLocaleString()}`, "meta"));
    return item;
  }));
}

async function freeze(actor) {
  try {
    await api("/security/accounts/freeze", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ actor }) });
    $("accounts-status").textContent = `${actor} ${t("frozenNow")}`;
    $("accounts-status").className = "";
    await loadAccounts();
  } catch (error) { $("accounts-status").textContent = error.message; $("accounts-status").className = "error"; }
}

async function unfreeze(actor) {
  try {
    await api("/security/accounts/unfreeze", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ actor }) });
    await loadAccounts();
  } catch (error) { $("accounts-status").textContent = error.message; $("accounts-status").className = "error"; }
}

async function runTrace(event) {
  event.preventDefault();
  const file = $("leak-file").files[0];
  if (!file) return;
  $("trace-status").textContent = t("tracing");
  $("trace-status").className = "";
  const form = new FormData();
  form.append("file", file);
  try {
    const report = await api("/security/traces", { method: "POST", body: form });
    $("trace-status").textContent = `${report.leak.rows} ${t("rows")}, ${report.leak.matched} ${t("matched")}`;
    await loadCases();
    showCase(report);
  } catch (error) { $("trace-status").textContent = error.message; $("trace-status").className = "error"; }
}

async function loadCases() {
  const cases = await api("/security/traces");
  $("cases").replaceChildren(...cases.map((c) => {
    const item = el("li");
    const row = el("div", undefined, "row");
    const button = el("button", t("openCase"), "secondary");
    button.type = "button";
    button.addEventListener("click", async () => showCase(await api(`/security/traces/${c.id}`)));
    row.append(el("span", `${c.id} · ${c.matched}/${c.leak_rows}`), button);
    item.append(row, el("div", new Date(c.created_at).toLocaleString(), "meta"));
    return item;
  }));
}

function pText(entry) { return entry.log10_p < -300 ? `1e${Math.round(entry.log10_p)}` : entry.p.toPrecision(3); }

function showCase(report) {
  openCaseId = report.case_id;
  $("case").hidden = false;
  $("case-title").textContent = report.case_id;
  $("case-summary").textContent = `${report.leak.rows} ${t("rows")}, ${report.leak.matched} ${t("matched")}, ${report.population} ${t("population")}`;
  const top = report.ranking.slice(0, 10);
  $("ranking").querySelector("tbody").replaceChildren(...top.map((entry) => {
    const tr = el("tr");
    [entry.rank, `${entry.kind} ${entry.accessor}`, entry.seen, entry.hits, pText(entry)].forEach((v) => tr.append(el("td", String(v))));
    return tr;
  }));
  if (traceChart) traceChart.destroy();
  traceChart = new Chart($("trace-chart"), {
    type: "bar",
    data: { labels: top.map((e) => `${e.kind} ${e.accessor}`),
            datasets: [{ label: "-log10 p", data: top.map((e) => -e.log10_p), backgroundColor: "#c8102e" }] },
    options: { indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
               plugins: { legend: { display: false } } },
  });
}

async function openReport() {
  if (!openCaseId) return;
  const html = await api(`/security/traces/${openCaseId}/report.html`);
  const url = URL.createObjectURL(new Blob([html], { type: "text/html" }));
  window.open(url, "_blank");
}

async function loadReveals() {
  const rows = await api("/security/reveals?days=14");
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const roles = [...new Set(rows.map((r) => r.role))].sort();
  const palette = ["#c8102e", "#1d2330", "#2e86de", "#e39b00", "#10ac84", "#8e44ad"];
  const datasets = roles.map((role, i) => ({
    label: role, backgroundColor: palette[i % palette.length],
    data: days.map((d) => rows.filter((r) => r.day === d && r.role === role).reduce((n, r) => n + r.count, 0)),
  }));
  if (revealsChart) revealsChart.destroy();
  revealsChart = new Chart($("reveals-chart"), {
    type: "bar", data: { labels: days, datasets },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
               scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
}

async function loadCoverage() {
  const rows = await api("/security/coverage?days=14");
  const percent = (n, of) => `${of ? Math.round((100 * n) / of) : 0}%`;
  $("coverage").querySelector("tbody").replaceChildren(...rows.map((r) => {
    const tr = el("tr");
    [r.tenant_id, r.day, r.issued, percent(r.masked, r.issued), percent(r.sealed, r.issued)].forEach((v) => tr.append(el("td", String(v))));
    return tr;
  }));
}

async function searchAudit(event) {
  event?.preventDefault();
  const params = new URLSearchParams({ limit: "50" });
  if ($("audit-actor").value.trim()) params.set("actor", $("audit-actor").value.trim());
  if ($("audit-action").value.trim()) params.set("action", $("audit-action").value.trim());
  const entries = await api(`/audit/events?${params}`);
  $("audit").querySelector("tbody").replaceChildren(...entries.map((e) => {
    const tr = el("tr");
    [e.seq, new Date(e.at).toLocaleString(), e.actor, e.action, e.outcome].forEach((v) => tr.append(el("td", String(v))));
    return tr;
  }));
}

function showVerify(state) {
  if (!state.checked_at) { $("verify-state").textContent = t("neverVerified"); return; }
  const verdict = state.intact ? t("intact") : `${t("tampered")}: ${state.problem}`;
  $("verify-state").textContent = `${verdict} · ${state.entries} ${t("entries")} · ${new Date(state.checked_at).toLocaleString()}`;
  $("verify-state").className = state.intact ? "" : "error";
}

// A refresh's read can land after a newer "verify now": only the newest request may paint.
let verifyRequests = 0;
async function requestVerify(options = {}) {
  const request = ++verifyRequests;
  const state = await api("/security/audit/verify", options);
  if (request === verifyRequests) showVerify(state);
}

async function loadVerify() { await requestVerify(); }

document.addEventListener("DOMContentLoaded", () => {
  applyPlaceholders();
  document.addEventListener("pwb-language", () => { applyPlaceholders(); showWho(); if (token) refreshAll(); });
  $("login-form").addEventListener("submit", signIn);
  $("refresh").addEventListener("click", refreshAll);
  $("trace-form").addEventListener("submit", runTrace);
  $("open-report").addEventListener("click", openReport);
  $("audit-form").addEventListener("submit", searchAudit);
  $("verify").addEventListener("click", () => requestVerify({ method: "POST" }));
});
