// Public tracking page opened from a label's QR code: status only.
const box = document.getElementById("tracking");
const token = decodeURIComponent(location.pathname.split("/").pop());

async function load() {
  const response = await fetch(`/api/v1/tracking/${encodeURIComponent(token)}`);
  if (!response.ok) { box.innerHTML = ""; const p = document.createElement("p"); p.className = "error"; p.textContent = t("notFound"); box.append(p); return; }
  const body = await response.json();
  const number = document.createElement("p"); number.textContent = body.waybill_no;
  const state = document.createElement("p"); state.className = "status"; state.textContent = statusText(body.status);
  const when = document.createElement("p"); when.className = "hint"; when.textContent = new Date(body.updated_at).toLocaleString(lang === "en" ? "en-GB" : "zh-CN");
  // The portal shows more (pickup code, station) after the recipient signs in with their phone.
  const more = document.createElement("a"); more.id = "portal-link"; more.href = `/recipient?waybill=${encodeURIComponent(body.waybill_no)}`;
  more.textContent = t("portalLink");
  box.replaceChildren(number, state, when, more);
}
load();
document.addEventListener("pwb-language", load);
