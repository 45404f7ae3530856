// The station desk: clerk sign-in, check-in scan, sticker, pickup by code or identity code,
// search by the phone's last 4 digits, dispatch to couriers and take-back, crowd-courier
// passes. The session token lives in this page's memory only.

function parcelCard(parcel, extra) {
  const card = el("li", "card");
  card.dataset.waybill = parcel.waybill_no;
  card.append(el("span", "shelf", parcel.shelf_code), el("span", "code", parcel.pickup_code));
  card.append(el("span", "name", parcel.recipient_name), el("span", "muted", `****${parcel.phone_last4}`));
  card.append(el("span", "muted wide", parcel.waybill_no));
  if (extra) card.append(extra);
  return card;
}

async function stickerDownload(waybill, format) {
  const response = await api(`/stations/parcels/${encodeURIComponent(waybill)}/sticker?format=${format}`);
  if (!response.ok) return;
  const url = URL.createObjectURL(await response.blob());
  const link = el("a"); link.href = url; link.download = `${waybill}-sticker.${format}`; link.click();
  URL.revokeObjectURL(url);
}

function stickerButtons(waybill) {
  const actions = el("div", "actions wide");
  for (const [format, key] of [["pdf", "stickerPdf"], ["zpl", "stickerZpl"]]) {
    const button = el("button", "secondary sticker", t(key)); button.type = "button";
    button.dataset.format = format;
    button.addEventListener("click", () => stickerDownload(waybill, format));
    actions.append(button);
  }
  return actions;
}

async function refreshHeld() {
  const response = await api("/stations/parcels");
  if (!response.ok) return;
  const parcels = await response.json();
  document.getElementById("held-count").textContent = `(${parcels.length})`;
  document.getElementById("held").replaceChildren(...parcels.map((p) => parcelCard(p)));
}

function handedList(box, handed) {
  const list = el("ul", "cards");
  list.append(...handed.map((p) => parcelCard(p, el("span", "ok wide", t("handedOver")))));
  box.replaceChildren(list);
  refreshHeld();
}

onStaffSignIn(() => {
  document.getElementById("checkin-waybill").focus();
  document.getElementById("pass-day").value = chinaToday();
  refreshHeld();
  loadCouriers();
});

// A barcode scanner types the number and presses Enter: the form submits by itself.
document.getElementById("checkin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("checkin-waybill");
  const box = document.getElementById("checkin-result");
  const response = await api("/stations/check-ins", { method: "POST", body: JSON.stringify({ waybill_no: input.value.trim() }) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const parcel = await response.json();
  const list = el("ul", "cards");
  list.append(parcelCard(parcel, stickerButtons(parcel.waybill_no)));
  box.replaceChildren(el("p", "ok", t("checkedIn")), list);
  input.value = ""; input.focus();
  refreshHeld();
});

document.getElementById("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("pickup-result");
  const code = document.getElementById("pickup-code");
  const response = await api("/stations/pickups", { method: "POST", body: JSON.stringify({ method: "pickup_code", pickup_code: code.value.trim() }) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  code.value = "";
  handedList(box, (await response.json()).handed_over);
});

document.getElementById("identity-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("pickup-result");
  const token = document.getElementById("identity-code").value.trim();
  const response = await api("/stations/identity-code", { method: "POST", body: JSON.stringify({ identity_code: token }) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const parcels = await response.json();
  if (!parcels.length) { message(box, t("noneFound")); return; }
  const list = el("ul", "cards"); list.append(...parcels.map((p) => parcelCard(p)));
  const all = el("button", "", t("handOverAll")); all.type = "button"; all.id = "hand-over-all";
  all.addEventListener("click", async () => {
    const handed = await api("/stations/pickups", { method: "POST", body: JSON.stringify({ method: "identity_code", identity_code: token }) });
    if (!handed.ok) { message(box, await problemText(handed), "error"); return; }
    document.getElementById("identity-code").value = "";
    handedList(box, (await handed.json()).handed_over);
  });
  box.replaceChildren(list, all);
});

function otpControls(parcel, box) {
  const wrap = el("div", "actions wide");
  const send = el("button", "secondary", t("sendOtp")); send.type = "button";
  const input = el("input"); input.inputMode = "numeric"; input.placeholder = t("otp"); input.className = "otp";
  const give = el("button", "", t("handOver")); give.type = "button";
  const status = el("p", "hint wide otp-status");
  send.addEventListener("click", async () => {
    const response = await api(`/stations/parcels/${encodeURIComponent(parcel.waybill_no)}/pickup-otp`, { method: "POST" });
    status.className = response.ok ? "hint wide otp-status" : "error wide otp-status";
    status.textContent = response.ok ? t("otpSent") : await problemText(response);
  });
  give.addEventListener("click", async () => {
    const response = await api("/stations/pickups", { method: "POST", body: JSON.stringify({ method: "otp", waybill_no: parcel.waybill_no, otp: input.value.trim() }) });
    if (!response.ok) { status.className = "error wide otp-status"; status.textContent = await problemText(response); return; }
    handedList(box, (await response.json()).handed_over);
  });
  wrap.append(send, input, give, status);
  return wrap;
}

document.getElementById("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("search-result");
  const response = await api(`/stations/parcels?last4=${encodeURIComponent(last4.value.trim())}`);
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const parcels = await response.json();
  if (!parcels.length) { message(box, t("noneFound")); return; }
  const list = el("ul", "cards");
  list.append(...parcels.map((p) => parcelCard(p, otpControls(p, box))));
  box.replaceChildren(list);
});

document.getElementById("refresh-held").addEventListener("click", refreshHeld);

// --- dispatch: parcels scanned into a list, then assigned to one courier or crowd pass --------

const toDispatch = [];

function chinaToday() {
  // Passes and manifests are per day in China Standard Time, wherever the desk's clock is set.
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function courierOption(value, label) {
  const option = el("option", "", label); option.value = value;
  return option;
}

async function loadCouriers() {
  const select = document.getElementById("dispatch-courier");
  const response = await api("/delivery/couriers");
  if (!response.ok) { message(document.getElementById("dispatch-result"), await problemText(response), "error"); return; }
  const couriers = await response.json();
  const passes = [...select.querySelectorAll("option[data-pass]")];
  select.replaceChildren(...couriers.map((c) => courierOption(c.courier, c.username)), ...passes);
  if (!select.options.length) message(document.getElementById("dispatch-result"), t("noCourier"));
}

function showDispatchList() {
  document.getElementById("dispatch-list").replaceChildren(...toDispatch.map((code, index) => {
    const item = el("li", "card");
    item.append(el("span", "wide", code));
    const remove = el("button", "secondary", t("remove")); remove.type = "button";
    remove.addEventListener("click", () => { toDispatch.splice(index, 1); showDispatchList(); });
    item.append(remove);
    return item;
  }));
}

// A scanner types the code and presses Enter: each scan adds one parcel to the list.
document.getElementById("dispatch-scan-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("dispatch-waybill");
  const code = input.value.trim();
  if (code && !toDispatch.includes(code)) toDispatch.push(code);
  input.value = ""; input.focus();
  showDispatchList();
});

function assignedCard(parcel, note) {
  const card = el("li", "card");
  card.dataset.waybill = parcel.waybill_no;
  card.append(el("span", "wide", parcel.waybill_no), el("span", "ok", note));
  card.append(el("span", "muted", `${statusText(parcel.status)} · ${t("passRoute")} ${parcel.route}`));
  return card;
}

document.getElementById("dispatch-button").addEventListener("click", async () => {
  const box = document.getElementById("dispatch-result");
  if (!toDispatch.length) { message(box, t("noParcels"), "error"); return; }
  const courier = document.getElementById("dispatch-courier").value;
  const response = await api("/delivery/assignments", { method: "POST", body: JSON.stringify({ waybills: toDispatch, courier }) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const list = el("ul", "cards");
  list.append(...(await response.json()).map((p) => assignedCard(p, t("dispatched"))));
  box.replaceChildren(list);
  toDispatch.length = 0;
  showDispatchList();
});

document.getElementById("withdraw-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("withdraw-waybill");
  const box = document.getElementById("withdraw-result");
  const response = await api("/delivery/assignments/withdraw", { method: "POST", body: JSON.stringify({ waybill: input.value.trim() }) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const list = el("ul", "cards"); list.append(assignedCard(await response.json(), t("withdrawn")));
  box.replaceChildren(list);
  input.value = "";
});

// --- a route's walking order: roads and compounds by name (public geography) --------------

function routeEntries() {
  return document.getElementById("route-sequence").value.split("\n").map((line) => line.trim()).filter(Boolean);
}

function offerStarts(chosen) {
  const select = document.getElementById("route-start");
  select.replaceChildren(courierOption("", "—"), ...routeEntries().map((entry) => courierOption(entry, entry)));
  select.value = routeEntries().includes(chosen) ? chosen : "";
}

document.getElementById("route-sequence").addEventListener("input", () => offerStarts(document.getElementById("route-start").value));

document.getElementById("route-load-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("route-result");
  const response = await api(`/delivery/routes/${encodeURIComponent(document.getElementById("route-id").value.trim())}`);
  if (response.status === 404) {
    document.getElementById("route-sequence").value = "";
    offerStarts("");
    message(box, t("routeNew"));
    return;
  }
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const route = await response.json();
  document.getElementById("route-sequence").value = route.sequence.join("\n");
  offerStarts(route.start);
  box.replaceChildren();
});

document.getElementById("route-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("route-result");
  const route = document.getElementById("route-id").value.trim();
  if (!route) { document.getElementById("route-id").focus(); return; }
  const start = document.getElementById("route-start").value || null;
  const response = await api(`/delivery/routes/${encodeURIComponent(route)}`, { method: "PUT", body: JSON.stringify({ sequence: routeEntries(), start }) });
  message(box, response.ok ? t("routeSaved") : await problemText(response), response.ok ? "ok" : "error");
});

document.getElementById("pass-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("pass-result");
  const body = { phone: document.getElementById("pass-phone").value.trim(), route: document.getElementById("pass-route").value.trim(), day: document.getElementById("pass-day").value };
  const response = await api("/delivery/passes", { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { message(box, await problemText(response), "error"); return; }
  const issued = await response.json();
  document.getElementById("pass-phone").value = "";
  // The pass may be dispatched to at once (its route's parcels only).
  const option = courierOption(issued.courier, `${t("passFor")} ${issued.route} · ${issued.day}`);
  option.dataset.pass = issued.pass_id;
  document.getElementById("dispatch-courier").append(option);
  const qr = el("div", "qr"); qr.innerHTML = issued.qr_svg;  // SVG made by the server (segno), no user text
  const link = el("a", "wide", issued.sign_in_url); link.href = issued.sign_in_url;
  box.replaceChildren(el("p", "ok", `${t("passFor")} ${issued.route} · ${issued.day}`), qr, link, el("p", "hint", t("passHint")));
});

// The phone's camera as the scanner (desk-camera.js): the waybill's Code 128 for check-in and
// dispatch (or its QR), the recipient's QR for the identity code.
document.getElementById("camera-checkin").addEventListener("click", () => scanWithCamera(["Code128"], "checkin-waybill", "checkin-form", "checkin-result"));
document.getElementById("camera-identity").addEventListener("click", () => scanWithCamera(["QRCode"], "identity-code", "identity-form", "pickup-result"));
document.getElementById("camera-dispatch").addEventListener("click", () => scanWithCamera(["Code128", "QRCode"], "dispatch-waybill", "dispatch-scan-form", "dispatch-result"));
