// Merchant console: upload an order file with progress, see each rejected row (rejections.js),
// list masked waybills, download labels, and open one recipient in full for a stated purpose
// (shown for a minute, then removed from the page).
const keyInput = document.getElementById("api-key");
const summary = document.getElementById("summary");
const progress = document.getElementById("progress");
let lastResults = [];

function authHeaders() { return { Authorization: `Bearer ${keyInput.value.trim()}` }; }

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

async function downloadLabel(waybillNo) {
  const response = await fetch(`/api/v1/waybills/${encodeURIComponent(waybillNo)}/label?format=pdf`, { headers: authHeaders() });
  if (!response.ok) { summary.textContent = (await response.json()).title; return; }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url; link.download = `${waybillNo}.pdf`; link.click();
  URL.revokeObjectURL(url);
}

async function refresh() {
  if (!keyInput.value.trim()) { summary.textContent = t("needKey"); return; }
  const response = await fetch("/api/v1/waybills?limit=100", { headers: authHeaders() });
  const body = await response.json();
  if (!response.ok) { summary.textContent = body.detail || body.title; summary.className = "error"; return; }
  const rows = document.querySelector("#waybills tbody");
  rows.replaceChildren(...body.map((w) => {
    const tr = document.createElement("tr");
    tr.dataset.waybill = w.waybill_no;
    const r = w.masked.recipient;
    tr.append(cell(w.order_id), cell(w.waybill_no), cell(w.sort_code), cell(`${r.name} ${r.phone} ${r.address}`), cell(statusText(w.status)));
    const labelCell = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button"; button.textContent = "PDF"; button.className = "label-download";
    button.addEventListener("click", () => downloadLabel(w.waybill_no));
    labelCell.append(button); tr.append(labelCell);
    const fullCell = document.createElement("td");
    const full = document.createElement("button");
    full.type = "button"; full.textContent = t("full"); full.className = "decrypt";
    full.addEventListener("click", () => chooseForDecrypt(w.waybill_no));
    fullCell.append(full); tr.append(fullCell);
    return tr;
  }));
}

document.getElementById("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!keyInput.value.trim()) { summary.textContent = t("needKey"); return; }
  const data = new FormData();
  data.append("file", document.getElementById("file").files[0]);
  const request = new XMLHttpRequest();
  request.open("POST", "/api/v1/orders/upload");
  request.setRequestHeader("Authorization", authHeaders().Authorization);
  progress.hidden = false; progress.value = 0;
  request.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
  request.onload = () => {
    progress.value = 100;
    const body = JSON.parse(request.responseText);
    lastResults = request.status === 200 ? body.results : [];
    showRejections(lastResults);
    if (request.status !== 200) { summary.className = "error"; summary.textContent = problemText(body.detail) || body.title; return; }
    summary.className = "";
    summary.textContent = `${t("issued")}: ${body.issued} · ${t("replayed")}: ${body.replayed} · ${t("rejected")}: ${body.rejected}`;
    refresh();
  };
  request.send(data);
});
document.getElementById("refresh").addEventListener("click", refresh);

const SHOWN_SECONDS = 60;
let decryptFor = null;
let countdown = null;

function removeDecrypted(text) {
  clearInterval(countdown); countdown = null;
  const box = document.getElementById("decrypted");
  box.replaceChildren();
  if (text) { const note = document.createElement("p"); note.className = "hint"; note.textContent = text; box.append(note); }
}

function chooseForDecrypt(waybillNo) {
  decryptFor = waybillNo;
  removeDecrypted();
  document.getElementById("decrypt").hidden = false;
  document.getElementById("decrypt-waybill").textContent = waybillNo;
  document.getElementById("decrypt").scrollIntoView();
}

document.getElementById("decrypt-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!decryptFor) return;
  const purpose = document.getElementById("decrypt-purpose").value;
  const response = await fetch(`/api/v1/waybills/${encodeURIComponent(decryptFor)}/decrypt`, {
    method: "POST", headers: { ...authHeaders(), "Content-Type": "application/json" }, body: JSON.stringify({ purpose }),
  });
  const body = await response.json();
  if (!response.ok) { removeDecrypted(body.detail || body.title); return; }
  const box = document.getElementById("decrypted");
  const lines = [body.recipient.name, body.recipient.phone, body.recipient.address, body.remark].filter(Boolean);
  const list = document.createElement("ul");
  list.className = "full-record";
  list.replaceChildren(...lines.map((line) => { const li = document.createElement("li"); li.textContent = line; return li; }));
  let left = SHOWN_SECONDS;
  const note = document.createElement("p"); note.className = "hint"; note.id = "decrypt-countdown";
  note.textContent = `${t("shownFor")} ${left}${t("seconds")}`;
  box.replaceChildren(list, note);
  clearInterval(countdown);
  countdown = setInterval(() => {
    left -= 1;
    note.textContent = `${t("shownFor")} ${left}${t("seconds")}`;
    if (left <= 0) removeDecrypted(t("removed"));
  }, 1000);
});
document.addEventListener("pwb-language", () => {
  showRejections(lastResults);
  if (keyInput.value.trim()) refresh();
});
