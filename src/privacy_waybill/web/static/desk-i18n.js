// Station desk and recipient portal strings, added to the shared i18n tables (i18n.js).
Object.assign(MESSAGES.en, {
  deskTitle: "Station desk", deskSignIn: "Clerk sign-in", username: "Username", password: "Password",
  totp: "Authenticator code", signInButton: "Sign in", checkIn: "Check-in scan", checkInButton: "Check in",
  scanWaybill: "Scan or type the waybill number", pickup: "Pickup", pickupCode: "Pickup code", handOver: "Hand over",
  identityCode: "Scan the identity code", lookUp: "Look up", searchLast4: "Find by the phone's last 4 digits",
  last4: "Last 4 digits", search: "Find", onShelves: "On the shelves", refresh: "Refresh",
  deskPrivacy: "Clerks see shelf code, pickup code, surname and the phone's last 4 digits only.",
  shelfCode: "Shelf", stickerPdf: "Sticker PDF", stickerZpl: "Sticker ZPL", handedOver: "Handed over",
  handOverAll: "Hand over all", sendOtp: "Text a code", otp: "Code from the recipient", signedInAs: "Signed in",
  noneFound: "Nothing found.", checkedIn: "Checked in", otpSent: "A code was sent to the recipient.",
  portalTitle: "My parcels", trackByNumber: "Track by waybill number", trackButton: "Track",
  phone: "Mobile number", sendCode: "Send code", code: "Code", recipientSignIn: "Sign in with your phone",
  parcels: "My parcels", timeline: "Timeline", whoSaw: "Who saw my data", preferences: "Privacy preferences",
  alwaysMasked: "Labels always show my name, phone and address masked",
  alwaysVirtual: "Couriers always call me through a virtual number",
  alwaysOnHint: "Both are on for everyone, free of charge, and cannot be switched off.",
  prefStation: "Stations may hold my parcels",
  prefLocker: "Lockers may hold my parcels", save: "Save", saved: "Saved.", identityTitle: "Identity code",
  identityButton: "Show my identity code", identityHint: "Show this at the station counter; it works for two minutes.",
  leakTitle: "Report a suspected leak", leakKind: "What happened", leakText: "Details (kept sealed)",
  leakSend: "Send report", leakSent: "Report received", nobodySaw: "Nobody has seen your data.",
  kindCalls: "Unwanted calls", kindSms: "Unwanted texts", kindOpened: "Parcel opened", kindSold: "Data offered for sale",
  kindOther: "Other", codeSent: "If parcels are addressed to this number, a code was sent.",
  portalPrivacy: "Your phone is never shown to couriers or clerks; this page lists every time your data was opened.",
  verified: "Verified", station: "Station", cameraScan: "Scan with the camera",
  cameraIdentity: "Scan the identity code with the camera", cameraOff: "No camera: type or use the scanner.",
  dispatchTitle: "Dispatch", dispatchTo: "To", addParcel: "Add", dispatchButton: "Dispatch",
  withdrawWaybill: "Take back a wrongly dispatched parcel: waybill number", withdraw: "Take back",
  passTitle: "Crowd courier pass", passPhone: "Crowd courier's mobile number", passRoute: "Route", passDay: "Day",
  passButton: "Issue pass", dispatched: "Dispatched", withdrawn: "Taken back", noCourier: "No courier account at this station",
  passFor: "Pass for route", passHint: "The crowd courier scans this code with their phone and signs in with a text-message code.",
  noParcels: "Scan the parcels first.", remove: "Remove",
  usersTitle: "Accounts", adminSignIn: "Administrator sign-in", accounts: "Accounts", addAccount: "New account",
  roleLabel: "Role", roleCourier: "Courier", roleClerk: "Station clerk", roleSorter: "Sorter", roleSupport: "Customer service",
  roleMerchant: "Merchant", roleAuditor: "Security auditor", roleAdmin: "Platform admin", create: "Create",
  bindTitle: "Bind a courier's phone", courierLabel: "Courier", deviceLabel: "Device id (shown on the courier's page)",
  bind: "Bind", usersPrivacy: "A TOTP secret is shown once, when the account is made; the audit log names accounts by id, never by username or password.",
  scope_station: "Station", scope_station_optional: "Station (optional)", scope_hub: "Hub", scope_tenant_id: "Merchant tenant",
  status_active: "active", status_locked: "locked", status_disabled: "disabled", deviceBound: "device bound",
  lock: "Lock", activate: "Reactivate", created: "Created", bound: "Bound",
  totpOnce: "Scan this into the user's authenticator app now: it is not shown again.",
  hubTitle: "Sorting scan", hubSignIn: "Sorter sign-in", sortScan: "Scan to sort", sortButton: "Sort",
  sortedHere: "Sorted in this session", sortedNow: "Sorted: in transit", alreadySorted: "Already sorted",
  hubPrivacy: "Sorters see the sort code and the label's masked data only.",
  supportTitle: "Customer service desk", supportSignIn: "Customer service sign-in", lookUpWaybill: "Look up a waybill",
  waybillNo: "Waybill number", breakGlassTitle: "Break-glass: the full record",
  breakGlassHint: "Only when a ticket needs it: a ticket id and a reason, counted against your quota, audited, and shown to the recipient.",
  ticket: "Ticket", reason: "Reason", breakGlassButton: "Open the full record",
  supportPrivacy: "Customer service sees masked data; the full record shows for one minute after a break-glass and is not kept by this page.",
  recipientLabel: "Recipient", senderLabel: "Sender", remarkLabel: "Remark", contentsLabel: "Contents",
  disclosedNote: "Audited; the recipient sees this access. Hidden again in", seconds: "s", hiddenAgain: "Hidden again.",
  routeTitle: "Route order", routeId: "Route number", routeLoad: "Load",
  routeSequence: "Roads and compounds, one per line, in walking order", routeStart: "Start from",
  routeNew: "No order saved for this route yet: write one.", routeSaved: "Saved; couriers' manifests follow this order.",
});
Object.assign(ZH, {
  shelfCode: "货架", stickerPdf: "贴纸 PDF", stickerZpl: "贴纸 ZPL", handedOver: "已交付", handOverAll: "全部交付",
  sendOtp: "发送验证码", otp: "收件人验证码", signedInAs: "已登录", noneFound: "没有找到。", checkedIn: "已入库",
  otpSent: "验证码已发送给收件人。", saved: "已保存。", leakSent: "已收到举报", nobodySaw: "还没有人查看过您的信息。",
  kindCalls: "骚扰电话", kindSms: "骚扰短信", kindOpened: "包裹被拆", kindSold: "信息被出售", kindOther: "其他",
  codeSent: "如果该号码有包裹，验证码已发送。", verified: "已验证", station: "驿站",
  dispatched: "已派件", withdrawn: "已撤回", passRoute: "路线", noCourier: "本站还没有快递员账号", passFor: "通行证 · 路线",
  passHint: "众包快递员用手机扫码，凭短信验证码登录。", noParcels: "请先扫描要派的包裹。", remove: "移除",
  scope_station: "驿站", scope_station_optional: "驿站（可不填）", scope_hub: "分拣中心", scope_tenant_id: "商家编号",
  status_active: "正常", status_locked: "已锁定", status_disabled: "已停用", deviceBound: "已绑定手机",
  lock: "锁定", activate: "恢复", created: "已创建", bound: "已绑定", totpOnce: "请现在用验证器 App 扫码：只显示这一次。",
  sortedNow: "已分拣：运输中", alreadySorted: "已分拣过",
  recipientLabel: "收件人", senderLabel: "寄件人", remarkLabel: "备注", contentsLabel: "物品",
  disclosedNote: "已记入审计，收件人可以看到这次调阅。隐藏倒计时", seconds: "秒", hiddenAgain: "已重新隐藏。",
  routeNew: "这条路线还没有保存顺序，请填写。", routeSaved: "已保存，快递员的派件清单按此顺序排列。",
  timeline: "物流轨迹", handOver: "交付", cameraOff: "无法使用摄像头，请输入或用扫码枪。", identityHint: "请在驿站柜台出示，两分钟内有效。",
});
function applyPlaceholders() {
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    if (!el.dataset.zhPlaceholder) el.dataset.zhPlaceholder = el.placeholder;
    el.placeholder = lang === "en" ? MESSAGES.en[el.dataset.i18nPlaceholder] : el.dataset.zhPlaceholder;
  });
}
document.addEventListener("DOMContentLoaded", applyPlaceholders);
document.addEventListener("pwb-language", applyPlaceholders);
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
function message(box, text, className = "hint") { box.replaceChildren(el("p", className, text)); }

// The page's session token (kept in this page's memory only) and the API calls made with it.
let session = null;
const api = (path, options = {}) => fetch(`/api/v1${path}`, {
  ...options,
  headers: { "Content-Type": "application/json", ...(session ? { Authorization: `Bearer ${session}` } : {}), ...(options.headers || {}) },
});

// Staff sign-in (password and TOTP) shared by the desk pages: on success the form goes away,
// the page's #desk shows, `session` holds the token, and `signedIn` runs.
function staffSignInForm() {
  const form = el("form"); form.id = "signin-form";
  const fields = [
    ["username", "用户名", { autocomplete: "username" }],
    ["password", "密码", { type: "password", autocomplete: "current-password" }],
    ["totp", "动态码", { inputMode: "numeric", autocomplete: "one-time-code" }],
  ];
  for (const [id, zh, attributes] of fields) {
    const label = el("label");
    const caption = el("span", "", zh); caption.dataset.i18n = id;
    const input = Object.assign(el("input"), { id, required: true }, attributes);
    label.append(caption, input);
    form.append(label);
  }
  const submit = el("button", "", "登录"); submit.type = "submit"; submit.dataset.i18n = "signInButton";
  form.append(submit);
  const status = el("p", "hint"); status.id = "signin-status"; status.setAttribute("aria-live", "polite");
  return [form, status];
}

function onStaffSignIn(signedIn) {
  document.getElementById("signin").append(...staffSignInForm());
  document.getElementById("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const [username, password, totp] = ["username", "password", "totp"].map((id) => document.getElementById(id));
    const status = document.getElementById("signin-status");
    const response = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: username.value, password: password.value, totp: totp.value }),
    });
    if (!response.ok) { status.className = "error"; status.textContent = await problemText(response); return; }
    password.value = ""; totp.value = "";
    document.getElementById("signin").hidden = true;
    document.getElementById("desk").hidden = false;
    session = (await response.json()).token;
    signedIn();
  });
}

// A problem body's field errors say what and where ("waybills[1]: no such waybill"); else its detail.
async function problemText(response) {
  try {
    const body = await response.json();
    const fields = (body.errors || []).map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join("; ");
    return problemZh(fields || body.detail || body.title);
  } catch { return response.statusText; }
}
const ROLE_ZH = { courier: "快递员", crowd_courier: "众包快递员", merchant: "商家", customer_service: "客服",
  station_clerk: "驿站店员", sorting_operator: "分拣员", security_auditor: "安全审计", platform_admin: "平台管理员" };
const ACTION_ZH = { "waybill.reveal": "查看地址", "waybill.decrypt": "解密", "waybill.break_glass": "紧急调阅" };
function roleText(role) { return lang === "en" ? role.replaceAll("_", " ") : (ROLE_ZH[role] || role); }
function actionText(action) { return lang === "en" ? action.replace("waybill.", "").replaceAll("_", "-") : (ACTION_ZH[action] || action); }
