// The operator's outbox: sign in (password + TOTP), then list what the simulator "delivered".
const OPERATOR_EN = {
  outboxTitle: "Notification outbox (simulated SMS)", operatorSignIn: "Operator sign-in", username: "Username",
  password: "Password", totp: "Authenticator code", signIn: "Sign in", refresh: "Refresh",
  outboxHint: "Recipients show as their last 4 digits; the simulator keeps \"sent\" messages here for the demo.",
  signInFailed: "Sign-in failed.", empty: "No messages yet.", sent: "sent", pending: "pending", failed: "failed",
  notKept: "(handed to the provider; not kept)",
};
const OPERATOR_ZH = { signInFailed: "登录失败。", empty: "暂无消息。", sent: "已发送", pending: "待重试", failed: "失败",
  notKept: "（已交给短信服务商，本地不保留）" };
Object.assign(MESSAGES.en, OPERATOR_EN);
Object.assign(ZH, OPERATOR_ZH);
let operatorToken = sessionStorage.getItem("pwb-operator-token");

async function signIn(event) {
  event.preventDefault();
  const body = { username: username.value.trim(), password: password.value, totp: totp.value.trim() };
  const response = await fetch("/api/v1/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) { document.getElementById("signin-error").textContent = t("signInFailed"); return; }
  operatorToken = (await response.json()).token;
  sessionStorage.setItem("pwb-operator-token", operatorToken);
  password.value = "";
  showOutbox();
}

function messageItem(m) {
  const li = document.createElement("li");
  li.dataset.template = m.template;
  const meta = document.createElement("div");
  meta.className = "meta";
  const state = document.createElement("span");
  state.className = `state-${m.state}`;
  state.textContent = t(m.state);
  for (const text of [new Date(m.created_at).toLocaleString(), m.template, m.to]) {
    const span = document.createElement("span");
    span.textContent = text;
    meta.append(span);
  }
  meta.append(state);
  const text = document.createElement("p");
  text.className = "text";
  text.textContent = m.text ?? t("notKept");
  li.append(meta, text);
  if (m.data) {
    const data = document.createElement("code");
    data.textContent = JSON.stringify(m.data);
    li.append(data);
  }
  return li;
}

async function showOutbox() {
  const response = await fetch("/api/v1/outbox?limit=50", { headers: { Authorization: `Bearer ${operatorToken}` } });
  if (response.status === 401) { sessionStorage.removeItem("pwb-operator-token"); operatorToken = null; }
  document.getElementById("signin").hidden = response.ok;
  document.getElementById("outbox").hidden = !response.ok;
  if (!response.ok) return;
  const list = document.getElementById("messages");
  const messages = await response.json();
  list.replaceChildren(...messages.map(messageItem));
  if (!messages.length) {
    const li = document.createElement("li");
    li.textContent = t("empty");
    list.append(li);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signin-form").addEventListener("submit", signIn);
  document.getElementById("refresh").addEventListener("click", showOutbox);
  document.addEventListener("pwb-language", showOutbox);
  if (operatorToken) showOutbox();
});
