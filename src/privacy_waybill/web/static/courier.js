// The courier's page: sign in (staff TOTP on a bound device, or crowd pass + phone OTP), today's
// manifest by stop, the out-for-delivery scan (camera via zxing-wasm, or a typed number), the
// parcel card, reveal, call through a virtual number, sign-off.
const COURIER_EN = {
  courierTitle: "Courier · Today's deliveries", staffSignIn: "Staff sign-in", passSignIn: "Crowd pass",
  phone: "Mobile number", requestOtp: "Send code", otp: "Text-message code", deviceId: "This device",
  scanCamera: "Scan out", confirm: "OK", typedNumber: "Waybill number", stopPrefix: "Stop", stopSuffix: "",
  reveal: "Full address", call: "Call", signOff: "Sign off", fullAddress: "Full address", remark: "Remark",
  ownPhone: "Your own number (registered on the first call)", getNumber: "Get virtual number",
  dialX: "Dial the virtual number", photo: "Photo of the delivered parcel", signOffPhoto: "Upload photo and sign off",
  sendCode: "Text the recipient a sign-off code", signOffCode: "Sign-off code", signOffByCode: "Check code and sign off",
  manifest: "Today's parcels", codeSent: "If the number holds a pass for today, a code was sent.",
  scanned: "Out for delivery", rescanned: "Already out with you", signedOff: "Signed off",
  codeTexted: "A code was texted to the recipient.", cameraOff: "No camera: type the number.",
  parcels: "parcels", stops: "stops", signInFailed: "Sign-in failed.", username: "Username", password: "Password",
  totp: "Authenticator code", signIn: "Sign in",
};
const COURIER_ZH = {
  codeSent: "如该号码持有今日通行证，验证码已发送。", scanned: "已出仓派送", rescanned: "已在您的派送中",
  signedOff: "已签收", codeTexted: "签收码已发送给收件人。", cameraOff: "无法使用摄像头，请输入运单号。",
  parcels: "件", stops: "站", signInFailed: "登录失败。",
};
Object.assign(MESSAGES.en, COURIER_EN);
Object.assign(ZH, COURIER_ZH);

const state = {
  token: sessionStorage.getItem("pwb-courier-token"),
  device: localStorage.getItem("pwb-device") || `web-${crypto.getRandomValues(new Uint32Array(2)).join("")}`,
  card: null,
  scanning: false,
};
localStorage.setItem("pwb-device", state.device);
const $ = (id) => document.getElementById(id);

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

async function api(path, options = {}) {
  const headers = { "X-Device-Id": state.device, ...(options.body ? { "Content-Type": "application/json" } : {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const response = await fetch(`/api/v1${path}`, { ...options, headers });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401 && path.startsWith("/delivery")) signedOut();
  if (!response.ok) {
    const reason = body?.errors?.map((e) => `${e.field}: ${e.reason}`).join("; ") || body?.detail || body?.title;
    throw new Error(problemZh(reason) || `HTTP ${response.status}`);
  }
  return body;
}

function signedIn(token) {
  state.token = token;
  sessionStorage.setItem("pwb-courier-token", token);
  $("signin").hidden = true;
  $("work").hidden = false;
  loadManifest();
}

function signedOut() {
  state.token = null;
  sessionStorage.removeItem("pwb-courier-token");
  $("signin").hidden = false;
  $("work").hidden = true;
}

function chooseTab(pass) {
  $("staff-form").hidden = pass;
  $("pass-form").hidden = !pass;
  $("tab-staff").setAttribute("aria-selected", String(!pass));
  $("tab-pass").setAttribute("aria-selected", String(pass));
}

async function staffSignIn(event) {
  event.preventDefault();
  try {
    const body = { username: $("username").value.trim(), password: $("password").value, totp: $("totp").value.trim() };
    const session = await api("/auth/login", { method: "POST", body: JSON.stringify(body) });
    $("password").value = "";
    signedIn(session.token);
  } catch (error) {
    say(t("signInFailed"), true);
  }
}

async function requestOtp() {
  await api("/auth/otp/request", { method: "POST", body: JSON.stringify({ phone: $("pass-phone").value.trim() }) })
    .then(() => say(t("codeSent")))
    .catch((error) => say(error.message, true));
}

async function passSignIn(event) {
  event.preventDefault();
  try {
    const body = { phone: $("pass-phone").value.trim(), code: $("pass-code").value.trim() };
    const session = await api("/auth/otp/verify", { method: "POST", body: JSON.stringify(body) });
    signedIn(session.token);
  } catch (error) {
    say(t("signInFailed"), true);
  }
}

function stopItem(stop) {
  const li = document.createElement("li");
  li.className = stop.parcels.every((p) => p.status === "delivered") ? "done" : "";
  const head = document.createElement("div");
  head.className = "stop-head";
  const number = document.createElement("span");
  number.className = "n";
  number.textContent = `#${stop.number}`;
  const area = document.createElement("span");
  area.className = "area";
  area.textContent = stop.area;
  const count = document.createElement("span");
  count.textContent = `${stop.parcels.length} ${t("parcels")}`;
  head.append(number, area, count);
  const parcels = document.createElement("ul");
  for (const parcel of stop.parcels) {
    const item = document.createElement("li");
    item.dataset.waybill = parcel.waybill_no;
    item.textContent = `${parcel.waybill_no} · ${parcel.name} · ${statusText(parcel.status)}`;
    parcels.append(item);
  }
  li.append(head, parcels);
  return li;
}

async function loadManifest() {
  try {
    const manifest = await api("/delivery/manifest");
    $("manifest").replaceChildren(...manifest.stops.map(stopItem));
    $("manifest-count").textContent = `${manifest.stops.length} ${t("stops")} · ${manifest.parcels} ${t("parcels")}`;
  } catch (error) {
    say(error.message, true);
  }
}

function showCard(card) {
  state.card = card;
  $("card").hidden = false;
  $("card-stop").textContent = card.stop ?? "-";
  $("card-waybill").textContent = card.waybill_no;
  $("card-name").textContent = card.name;
  $("card-address").textContent = card.address;
  $("card-remark").textContent = card.remark ?? "";
  for (const id of ["revealed", "call-panel", "signoff-panel", "x-number-line"]) $(id).hidden = true;
}

async function scan(code) {
  try {
    const result = await api("/delivery/scan", { method: "POST", body: JSON.stringify({ code }) });
    showCard(result.card);
    say(result.moved ? t("scanned") : t("rescanned"));
    loadManifest();
  } catch (error) {
    say(error.message, true);
  }
}

async function startCamera() {
  const video = $("camera");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (error) {
    say(t("cameraOff"), true);
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  state.scanning = true;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  while (state.scanning) {
    if (video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const [found] = await ZXingWASM.readBarcodes(frame, { formats: ["QRCode", "Code128"], tryHarder: true, maxNumberOfSymbols: 1 });
      if (found?.isValid) {
        stopCamera();
        await scan(found.text);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stopCamera() {
  state.scanning = false;
  const video = $("camera");
  video.srcObject?.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
  video.hidden = true;
}

async function reveal() {
  try {
    const revealed = await api(`/delivery/parcels/${state.card.waybill_no}/reveal`, { method: "POST", body: JSON.stringify({ purpose: "deliver" }) });
    $("full-address").textContent = revealed.address;
    $("full-remark").textContent = revealed.remark ?? "";
    $("revealed").hidden = false;
  } catch (error) {
    say(error.message, true);
  }
}

async function getVirtualNumber(event) {
  event.preventDefault();
  const phone = $("own-phone").value.trim();
  try {
    const route = await api(`/delivery/parcels/${state.card.waybill_no}/call`, { method: "POST", body: JSON.stringify({ phone: phone || null }) });
    $("x-number").textContent = route.x_number;
    $("x-number").href = `tel:${route.x_number}`;
    $("x-number-line").hidden = false;
    $("own-phone-label").hidden = true;
  } catch (error) {
    say(error.message, true);
  }
}

async function signOff(body) {
  try {
    const result = await api(`/delivery/parcels/${state.card.waybill_no}/sign-off`, { method: "POST", body: JSON.stringify(body) });
    say(`${t("signedOff")} ${result.waybill_no}`);
    $("card").hidden = true;
    state.card = null;
    loadManifest();
  } catch (error) {
    say(error.message, true);
  }
}

async function signOffWithPhoto() {
  const [file] = $("photo").files;
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  await signOff({ method: "photo", photo_base64: btoa(binary) });
}

async function sendCode() {
  await api(`/delivery/parcels/${state.card.waybill_no}/signoff-code`, { method: "POST" })
    .then(() => say(t("codeTexted")))
    .catch((error) => say(error.message, true));
}

function translatePlaceholders() {
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    if (!el.dataset.zhPlaceholder) el.dataset.zhPlaceholder = el.placeholder;
    el.placeholder = lang === "en" ? MESSAGES.en[el.dataset.i18nPlaceholder] : el.dataset.zhPlaceholder;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  ZXingWASM.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? "/static/vendor/zxing-wasm/zxing_reader.wasm" : prefix + path) },
  });
  $("device-id").textContent = state.device;
  chooseTab(new URLSearchParams(location.search).has("pass"));
  $("tab-staff").addEventListener("click", () => chooseTab(false));
  $("tab-pass").addEventListener("click", () => chooseTab(true));
  $("staff-form").addEventListener("submit", staffSignIn);
  $("pass-form").addEventListener("submit", passSignIn);
  $("request-otp").addEventListener("click", requestOtp);
  $("start-camera").addEventListener("click", startCamera);
  $("typed-form").addEventListener("submit", (event) => { event.preventDefault(); scan($("typed").value.trim()); });
  $("reveal").addEventListener("click", reveal);
  $("call").addEventListener("click", () => { $("call-panel").hidden = false; });
  $("call-panel").addEventListener("submit", getVirtualNumber);
  $("signoff").addEventListener("click", () => { $("signoff-panel").hidden = false; });
  $("signoff-photo").addEventListener("click", signOffWithPhoto);
  $("send-code").addEventListener("click", sendCode);
  $("code-form").addEventListener("submit", (event) => { event.preventDefault(); signOff({ method: "recipient_otp", code: $("signoff-code").value.trim() }); });
  document.addEventListener("pwb-language", () => { translatePlaceholders(); if (state.token) loadManifest(); });
  translatePlaceholders();
  if (state.token) signedIn(state.token);
});
