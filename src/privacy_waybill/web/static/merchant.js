// Merchant console: upload an order file with progress, see each rejected row (rejections.js),
// list masked waybills, download labels.
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
document.addEventListener("pwb-language", () => {
  showRejections(lastResults);
  if (keyInput.value.trim()) refresh();
});
