// Staff accounts for platform administrators: list, create (the TOTP secret shown once, as a
// QR for the authenticator app), bind a courier's handset, lock and reactivate. The session
// token lives in this page's memory only.
// Which scope each role is bound by (identity/rules.py): the field it takes, and whether it
// must be given (a courier without a station is a crowd-style courier of no station).
const SCOPES = { courier: ["station", false], station_clerk: ["station", true], sorting_operator: ["hub", true], merchant: ["tenant_id", true] };

function showScope() {
  const [scope, required] = SCOPES[document.getElementById("new-role").value] || [];
  document.getElementById("scope-label").hidden = !scope;
  document.getElementById("new-scope").required = Boolean(required);
  document.getElementById("scope-name").textContent = scope ? t(required ? `scope_${scope}` : "scope_station_optional") : "";
}

function accountCard(user) {
  const card = el("li", "card");
  card.dataset.username = user.username;
  const scope = user.station || user.hub || user.tenant_id;
  card.append(el("span", "name", user.username), el("span", "role", roleText(user.role)));
  card.append(el("span", "muted", `${scope || "—"} · ${t(`status_${user.status}`)}${user.device_bound ? ` · ${t("deviceBound")}` : ""}`));
  const toggle = el("button", "secondary", user.status === "active" ? t("lock") : t("activate"));
  toggle.type = "button";
  toggle.addEventListener("click", async () => {
    const status = user.status === "active" ? "locked" : "active";
    const response = await api(`/users/${encodeURIComponent(user.username)}/status`, { method: "PUT", body: JSON.stringify({ status }) });
    if (!response.ok) { message(document.getElementById("add-result"), await problemText(response), "error"); return; }
    loadAccounts();
  });
  card.append(toggle);
  return card;
}

async function loadAccounts() {
  const response = await api("/users");
  if (!response.ok) { message(document.getElementById("add-result"), await problemText(response), "error"); return; }
  const users = await response.json();
  document.getElementById("account-count").textContent = `(${users.length})`;
  document.getElementById("accounts").replaceChildren(...users.map(accountCard));
  const couriers = users.filter((u) => u.role === "courier").map((u) => {
    const option = el("option", "", u.username); option.value = u.username;
    return option;
  });
  document.getElementById("bind-username").replaceChildren(...couriers);
}

onStaffSignIn(() => {
  showScope();
  loadAccounts();
});

document.getElementById("new-role").addEventListener("change", showScope);

document.getElementById("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("add-result");
  const role = document.getElementById("new-role").value;
  const body = { username: document.getElementById("new-username").value.trim(), password: document.getElementById("new-password").value, role };
  const scopeValue = document.getElementById("new-scope").value.trim();
  if (SCOPES[role] && scopeValue) body[SCOPES[role][0]] = scopeValue;
  const response = await api("/users", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const created = await response.json();
  document.getElementById("new-password").value = "";
  document.getElementById("new-username").value = "";
  const parts = [el("p", "ok", `${t("created")}: ${created.user.username}`)];
  if (created.totp_qr_svg) {
    const qr = el("div", "qr"); qr.innerHTML = created.totp_qr_svg;  // SVG made by the server (segno)
    parts.push(qr, el("p", "hint", t("totpOnce")), el("code", "wide totp-uri", created.totp_uri));
  }
  box.replaceChildren(...parts);
  loadAccounts();
});

document.getElementById("bind-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("bind-result");
  const username = document.getElementById("bind-username").value;
  const device_id = document.getElementById("bind-device").value.trim();
  const response = await api(`/users/${encodeURIComponent(username)}/device`, { method: "PUT", body: JSON.stringify({ device_id }) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  message(box, `${t("bound")}: ${username}`, "ok");
  document.getElementById("bind-device").value = "";
  loadAccounts();
});

document.addEventListener("pwb-language", () => { if (session) { showScope(); loadAccounts(); } });
