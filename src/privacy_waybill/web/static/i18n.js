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
