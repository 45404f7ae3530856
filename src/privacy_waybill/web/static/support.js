// The customer service desk: sign-in, a waybill as customer service sees it (masked), and
// break-glass with a ticket and a reason. The full record stays on screen for a minute and is
// then removed from the page; nothing of it is stored in the browser.
const SHOWN_SECONDS = 60;
let current = null;
let countdown = null;

function party(label, view) {
  const card = el("li", "card");
  card.append(el("span", "role", t(label)), el("span", "name", view.name || "—"), el("span", "muted", view.phone || "—"));
  card.append(el("span", "wide", view.address || "—"));
  return card;
}

function hideDisclosed(note) {
  clearInterval(countdown); countdown = null;
  document.getElementById("disclosed").replaceChildren(...(note ? [el("p", "hint", note)] : []));
}

onStaffSignIn(() => {
  document.getElementById("lookup-waybill").focus();
});

document.getElementById("lookup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  hideDisclosed();
  const box = document.getElementById("lookup-result");
  const number = document.getElementById("lookup-waybill").value.trim();
  const response = await api(`/waybills/${encodeURIComponent(number)}`);
  document.getElementById("break-glass").hidden = !response.ok;
  if (!response.ok) { current = null; message(box, await problemText(response), "error"); return; }
  const waybill = await response.json();
  current = waybill.waybill_no;
  const head = el("p", "", `${waybill.waybill_no} · ${statusText(waybill.status)} · ${waybill.sort_code}`);
  const list = el("ul", "cards");
  list.append(party("recipientLabel", waybill.recipient), party("senderLabel", waybill.sender));
  const facts = el("p", "muted", `${t("contentsLabel")}: ${waybill.contents} · ${t("remarkLabel")}: ${waybill.remark || "—"}`);
  box.replaceChildren(head, list, facts);
});

document.getElementById("break-glass-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("disclosed");
  if (!current) return;
  const body = { ticket: document.getElementById("ticket").value.trim(), reason: document.getElementById("reason").value.trim() };
  const response = await api(`/waybills/${encodeURIComponent(current)}/break-glass`, { method: "POST", body: JSON.stringify(body) });
  if (!response.ok) { hideDisclosed(); message(box, await problemText(response), "error"); return; }
  const disclosed = await response.json();
  const list = el("ul", "cards full");
  list.append(party("recipientLabel", disclosed.recipient));
  if (disclosed.remark) list.append(el("li", "card wide", `${t("remarkLabel")}: ${disclosed.remark}`));
  let left = SHOWN_SECONDS;
  const note = el("p", "hint", `${t("disclosedNote")} ${left}${t("seconds")}`);
  note.id = "disclosed-countdown";
  box.replaceChildren(list, note);
  document.getElementById("reason").value = "";
  clearInterval(countdown);
  countdown = setInterval(() => {
    left -= 1;
    note.textContent = `${t("disclosedNote")} ${left}${t("seconds")}`;
    if (left <= 0) hideDisclosed(t("hiddenAgain"));
  }, 1000);
});
