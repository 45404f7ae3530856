// Chinese first; English on request. The choice is kept in localStorage.
const MESSAGES = {
  en: {
    title: "Privacy waybill · Merchant console", key: "API key",
    keyHint: "The demo key is in var/demo-api-key. The key is kept only in this page's memory.",
    upload: "Upload orders (CSV / JSON Lines)", send: "Upload and issue", waybills: "Waybills (masked)",
    refresh: "Refresh", colOrder: "Order", colWaybill: "Waybill", colSort: "Sort code", colRecipient: "Recipient",
    colStatus: "Status", colLabel: "Label", trackTitle: "Track a parcel", loading: "Loading…",
    trackPrivacy: "This page shows the parcel's status only, never personal data.",
    issued: "issued", replayed: "already issued", rejected: "rejected", notFound: "Unknown tracking code.",
    needKey: "Enter an API key first.", portalLink: "Sign in for your pickup code and more",
    colFull: "Full record", full: "Open", decryptTitle: "The recipient in full",
    decryptHint: "Only when after-sales needs it: say what for; counted against a daily quota, audited, and shown to the recipient.",
    purpose: "Purpose", purposeService: "After-sales service", purposeReturn: "Return", purposeInvoice: "Invoice",
    purposeCustoms: "Customs", decryptButton: "Open", shownFor: "Audited; the recipient sees this. Removed in",
    seconds: "s", removed: "Removed from the page.",
  },
};
const STATUS_ZH = { created: "已下单", printed: "已打印", collected: "已揽收", in_transit: "运输中",
  out_for_delivery: "派送中", at_station: "待取件（驿站）", in_locker: "待取件（快递柜）", delivered: "已签收",
  exception: "异常", returned: "已退回" };
const ZH = { full: "查看", shownFor: "已记入审计，收件人可以看到。移除倒计时", seconds: "秒", removed: "已从页面移除。", issued: "已出单", replayed: "已存在", rejected: "被拒绝", notFound: "查询码无效。", needKey: "请先输入 API 密钥。", portalLink: "登录查看取件码和更多信息" };
let lang = localStorage.getItem("pwb-lang") || "zh";
// What the desks, the portal and the courier's page most often hear back from the API, in
// Chinese (the API speaks English); an unlisted message is shown as it came.
const PROBLEMS_ZH = [
  [/no such waybill/g, "没有这个运单"],
  [/the credentials are not valid/, "用户名、密码或动态码不正确"],
  [/this device is not registered for the account/, "本设备没有绑定到这个账号，请让管理员绑定本机设备号"],
  [/the code is not valid or has expired/, "验证码无效或已过期"],
  [/this parcel is assigned to another courier; ask the station to re-dispatch it/, "这个包裹派给了其他快递员，请联系驿站重新派件"],
  [/the parcel is not on this station's shelves/, "这个包裹不在本驿站的货架上"],
  [/the recipient does not accept (station|locker) delivery; hand the parcel to a courier/, "收件人不接受放驿站或快递柜，请交给快递员派送"],
  [/the parcel is not assigned to a courier/, "这个包裹没有派给快递员"],
  [/the parcel is already delivered/, "这个包裹已经签收"],
  [/no parcel is held here for this identity code/, "本驿站没有这个身份码的包裹"],
  [/is wrong or expired; send a new one/, "不正确或已过期，请重新发送"],
  [/had too many wrong tries; send a new one/, "错误次数过多，请重新发送"],
  [/does not match a held parcel/, "没有对应的在架包裹"],
  [/does not work at this station/, "不在本驿站工作"],
  [/is a pass for another route/, "是其他路线的通行证"],
  [/is a pass that is not valid now/, "通行证当前无效"],
  [/is not an active account/, "账号未启用"],
  [/must be the number the pass was issued to/, "必须是通行证登记的手机号"],
  [/is already over/, "已经过去"],
  [/always on for every recipient; it cannot be switched off/, "对所有收件人始终开启，不能关闭"],
  [/quota (\S+) is used up for this (hour|day)/, "配额 $1 已用完（每$2）"],
  [/not allowed by rule (\S+).*/, "没有权限（规则 $1）"],
  [/no virtual number is free for this call; add numbers to the pool or try later/, "暂无可用的虚拟号，请稍后再试"],
  [/\bhour\b/, "小时"], [/\bday\b/, "天"],
];
function problemZh(text) {
  if (lang === "en" || !text) return text;
  return PROBLEMS_ZH.reduce((shown, [pattern, zh]) => shown.replace(pattern, zh), text);
}

function t(key) { return lang === "en" ? (MESSAGES.en[key] || key) : (ZH[key] || key); }
function statusText(s) { return lang === "en" ? s.replaceAll("_", " ") : (STATUS_ZH[s] || s); }
function applyLanguage() {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    if (!el.dataset.zh) el.dataset.zh = el.textContent;
    el.textContent = lang === "en" ? MESSAGES.en[el.dataset.i18n] : el.dataset.zh;
  });
  const button = document.getElementById("lang");
  if (button) button.textContent = lang === "en" ? "中文" : "EN";
}
document.addEventListener("DOMContentLoaded", () => {
  applyLanguage();
  document.getElementById("lang")?.addEventListener("click", () => {
    lang = lang === "en" ? "zh" : "en";
    localStorage.setItem("pwb-lang", lang);
    applyLanguage();
    document.dispatchEvent(new Event("pwb-language"));
  });
});
