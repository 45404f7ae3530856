// The hub's sorting scan: one scan per parcel records it as sorted (collected first when it
// arrives straight from printing) and shows its sort code in large type for the chute, beside
// the label's masked data. The session token lives in this page's memory only.
// What a scan moves a parcel through, from the status it arrives in, to sorted (in transit).
const TO_SORTED = { printed: ["collected", "in_transit"], collected: ["in_transit"], in_transit: [] };
let sortedCount = 0;

onStaffSignIn(() => {
  document.getElementById("sort-waybill").focus();
});

function sortCodeCard(waybill, moved) {
  const card = el("li", "card");
  card.dataset.waybill = waybill.waybill_no;
  const [hub, station, route] = waybill.sort_code.split("-");
  const code = el("span", "sort-code wide");
  code.append(el("span", "muted", hub), el("strong", "", station), el("span", "", route));
  card.append(code, el("span", "wide", waybill.waybill_no));
  card.append(el("span", "name", waybill.recipient.name || "—"), el("span", "muted", waybill.recipient.phone || "—"));
  card.append(el("span", "wide", waybill.recipient.address || "—"));
  card.append(el("span", moved ? "ok wide" : "muted wide", moved ? t("sortedNow") : t("alreadySorted")));
  return card;
}

async function move(number, status) {
  const response = await api(`/waybills/${encodeURIComponent(number)}/events`, { method: "POST", body: JSON.stringify({ status }) });
  return response.ok ? null : problemText(response);
}

document.getElementById("sort-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("sort-waybill");
  const box = document.getElementById("sort-result");
  const number = input.value.trim();
  input.value = ""; input.focus();
  const found = await api(`/waybills/${encodeURIComponent(number)}`);
  if (!found.ok) { message(box, await problemText(found), "error"); return; }
  const waybill = await found.json();
  const steps = TO_SORTED[waybill.status];
  if (!steps) { message(box, `${waybill.waybill_no}: ${statusText(waybill.status)}`, "error"); return; }
  for (const status of steps) {
    const problem = await move(waybill.waybill_no, status);
    if (problem) { message(box, problem, "error"); return; }
  }
  const list = el("ul", "cards");
  list.append(sortCodeCard(waybill, steps.length > 0));
  box.replaceChildren(list);
  if (steps.length) {
    sortedCount += 1;
    document.getElementById("sorted-count").textContent = `(${sortedCount})`;
    const done = el("li", "card");
    done.append(el("span", "wide", `${waybill.sort_code} · ${waybill.waybill_no}`));
    document.getElementById("sorted").prepend(done);
  }
});

document.getElementById("camera-sort").addEventListener("click", () => scanWithCamera(["Code128"], "sort-waybill", "sort-form", "sort-result"));
