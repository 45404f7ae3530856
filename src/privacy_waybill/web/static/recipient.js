// The recipient portal: tracking by number, phone-OTP sign-in, own parcels and their
// timeline, who saw my data, preferences, identity code, leak reports.
let lastPhone = "";
const when = (iso) => new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "zh-CN");
// Masked labels and virtual numbers are not settings: they hold for everyone (shown as text).
const PREFS = ["station_allowed", "locker_allowed"];

document.getElementById("track-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("track-result");
  const number = document.getElementById("track-waybill").value.trim();
  const digits = document.getElementById("track-last4").value.trim();
  const query = digits ? `?last4=${encodeURIComponent(digits)}` : "";
  const response = await api(`/track/${encodeURIComponent(number)}${query}`);
  if (!response.ok) { box.replaceChildren(el("p", "error", await problemText(response))); return; }
  const body = await response.json();
  const parts = [el("p", "", body.waybill_no), el("p", "status", statusText(body.status)), el("p", "hint", when(body.updated_at))];
  if (body.verified) parts.push(el("p", "ok", `${t("verified")} · ${body.recipient_name || ""}`));
  if (body.station) parts.push(el("p", "", `${t("station")}: ${body.station.name}`));
  box.replaceChildren(...parts);
});

document.getElementById("otp-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  lastPhone = document.getElementById("phone").value.trim();
  const response = await api("/recipient/otp/request", { method: "POST", body: JSON.stringify({ phone: lastPhone }) });
  const status = document.getElementById("signin-status");
  status.className = response.ok ? "hint" : "error";
  status.textContent = response.ok ? t("codeSent") : await problemText(response);
});

document.getElementById("verify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = document.getElementById("code");
  const response = await api("/recipient/otp/verify", { method: "POST", body: JSON.stringify({ phone: lastPhone, code: code.value.trim() }) });
  const status = document.getElementById("signin-status");
  if (!response.ok) { status.className = "error"; status.textContent = await problemText(response); return; }
  session = (await response.json()).token;
  code.value = ""; document.getElementById("phone").value = "";
  document.getElementById("signin").hidden = true;
  document.getElementById("portal").hidden = false;
  loadPortal();
});

async function loadPortal() {
  await Promise.all([loadParcels(), loadWhoSaw(), loadPreferences()]);
}

async function loadParcels() {
  const response = await api("/recipient/parcels");
  if (!response.ok) return;
  const parcels = await response.json();
  const list = document.getElementById("parcels");
  const boxes = document.getElementById("leak-waybills");
  list.replaceChildren(); boxes.replaceChildren();
  for (const parcel of parcels) {
    const card = el("li", "card");
    card.dataset.waybill = parcel.waybill_no;
    card.append(el("span", "", parcel.waybill_no), el("span", "status-text", statusText(parcel.status)));
    if (parcel.pickup_code) {
      card.append(el("span", "shelf", parcel.shelf_code), el("span", "code", parcel.pickup_code));
    }
    const show = el("button", "secondary wide", t("timeline")); show.type = "button";
    show.addEventListener("click", () => loadTimeline(parcel.waybill_no));
    card.append(show);
    list.append(card);
    const label = el("label", "check");
    const box = el("input"); box.type = "checkbox"; box.value = parcel.waybill_no;
    label.append(box, el("span", "", parcel.waybill_no));
    boxes.append(label);
  }
}

async function loadTimeline(number) {
  const response = await api(`/recipient/parcels/${encodeURIComponent(number)}/timeline`);
  if (!response.ok) return;
  const body = await response.json();
  const list = el("ol", "timeline");
  list.append(...body.events.map((e) => el("li", "", `${when(e.at)} · ${statusText(e.status)}${e.place ? ` · ${e.place}` : ""}`)));
  document.getElementById("timeline").replaceChildren(el("h3", "", `${t("timeline")} ${body.waybill_no}`), list);
}

async function loadWhoSaw() {
  const response = await api("/recipient/who-saw-my-data");
  if (!response.ok) return;
  const entries = await response.json();
  const list = document.getElementById("who-saw");
  if (!entries.length) { list.replaceChildren(el("li", "hint", t("nobodySaw"))); return; }
  list.replaceChildren(...entries.map((e) => {
    const card = el("li", "card");
    card.append(el("span", "role", roleText(e.role)), el("span", "muted", when(e.at)));
    card.append(el("span", "muted wide", `${actionText(e.action)} · ${e.purpose || "-"} · ${e.fields.join(", ")} · ${e.waybill_no}`));
    return card;
  }));
}

async function loadPreferences() {
  const response = await api("/recipient/preferences");
  if (!response.ok) return;
  const prefs = await response.json();
  for (const name of PREFS) document.getElementById(`pref-${name}`).checked = prefs[name];
}

document.getElementById("prefs-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = Object.fromEntries(PREFS.map((name) => [name, document.getElementById(`pref-${name}`).checked]));
  const response = await api("/recipient/preferences", { method: "PUT", body: JSON.stringify(body) });
  document.getElementById("prefs-status").textContent = response.ok ? t("saved") : await problemText(response);
});

document.getElementById("identity-button").addEventListener("click", async () => {
  const response = await api("/recipient/identity-code", { method: "POST" });
  const box = document.getElementById("identity");
  if (!response.ok) { box.replaceChildren(el("p", "error", await problemText(response))); return; }
  const body = await response.json();
  // The SVG is drawn by the server (segno) from the opaque code alone: markup, no user text.
  const image = el("div", "qr-image");
  image.innerHTML = body.qr_svg;
  const code = el("p", "muted identity-token", body.code);
  box.replaceChildren(image, code, el("p", "hint", t("identityHint")));
});

document.getElementById("leak-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const waybills = [...document.querySelectorAll("#leak-waybills input:checked")].map((box) => box.value);
  const body = { kind: document.getElementById("leak-kind").value, text: document.getElementById("leak-text").value, waybill_nos: waybills };
  const response = await api("/recipient/leak-reports", { method: "POST", body: JSON.stringify(body) });
  const box = document.getElementById("leak-result");
  if (!response.ok) { box.replaceChildren(el("p", "error", await problemText(response))); return; }
  const report = await response.json();
  document.getElementById("leak-text").value = "";
  const parts = [el("p", "ok", `${t("leakSent")}: ${report.id}`)];
  // Only the allow-list display form comes back: recognised phrases and [已隐藏].
  if (report.text_display) parts.push(el("p", "muted leak-display", report.text_display));
  box.replaceChildren(...parts);
});

// Opened from a label's QR code (/r?waybill=...): fill in the number.
const fromLabel = new URLSearchParams(location.search).get("waybill");
if (fromLabel) document.getElementById("track-waybill").value = fromLabel;
