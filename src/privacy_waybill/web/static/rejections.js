// Rejected rows of an upload: line, field and reason, in Chinese by default.
// The server's reasons are short English phrases built from fixed text (never from the input),
// so they translate by pattern; a reason without a pattern is shown as the server wrote it.
const FIELD_ZH = {
  order_id: "订单号", record: "整行", recipient: "收件人", sender: "寄件人", name: "姓名", phone: "电话",
  address: "地址", items: "商品", quantity: "数量", remark: "备注", weight_g: "重量（克）", service: "服务类型",
  id_number: "身份证号", province: "省", city: "市", district: "区县", town: "乡镇/街道", detail: "详细地址",
  body: "请求体", order: "订单",
};
const REASON_ZH = [
  [/^is required$/, "必填"],
  [/^must not be empty$/, "不能为空"],
  [/^is empty$/, "为空"],
  [/^is not an accepted field$/, "不是可接受的字段"],
  [/^has a field name that is not accepted$/, "含有不可接受的字段名"],
  [/^must be a string$/, "必须是文本"],
  [/^must be at least (\d+) characters$/, "至少 $1 个字符"],
  [/^must be at most (\d+) characters$/, "最多 $1 个字符"],
  [/^is longer than (\d+) characters$/, "超过 $1 个字符"],
  [/^may contain only letters, digits and _ - : \.$/, "只能包含字母、数字和 _ - : ."],
  [/^must be a whole number$/, "必须是整数"],
  [/^must be at least (\d+)$/, "不能小于 $1"],
  [/^must be at most (\d+)$/, "不能大于 $1"],
  [/^must be a list$/, "必须是列表"],
  [/^must have at least (\d+) entries$/, "至少需要 $1 项"],
  [/^must have at most (\d+) entries$/, "最多 $1 项"],
  [/^must be an object$/, "必须是对象"],
  [/^must be one of (.+)$/, "必须是以下之一：$1"],
  [/^must be a string or an object of address parts$/, "必须是文本或地址分段对象"],
  [/^needs a district or a detail$/, "需要区县或详细地址"],
  [/^is not valid$/, "无效"],
  [/^is not valid JSON$/, "不是有效的 JSON"],
  [/^is not a valid JSON array$/, "不是有效的 JSON 数组"],
  [/^must be a JSON object$/, "必须是 JSON 对象"],
  [/^line is not valid JSON$/, "该行不是有效的 JSON"],
  [/^line is not a JSON object$/, "该行不是 JSON 对象"],
  [/^row has (\d+) cells, the header has (\d+)$/, "该行有 $1 列，表头有 $2 列"],
  [/^line (\d+) is not valid UTF-8 text; the record was skipped$/, "第 $1 行不是有效的 UTF-8 文本，已跳过"],
  [/^a quote opened on line (\d+) is not closed; lines (\d+)-(\d+) were not read$/, "第 $1 行的引号没有闭合，第 $2–$3 行未读取"],
  [/^a quote opened on line (\d+) is not closed before the end of the file$/, "第 $1 行的引号直到文件结尾都没有闭合"],
  [/^line (\d+) is not valid CSV \(a stray quote\?\)$/, "第 $1 行不是有效的 CSV（多余的引号？）"],
  [/^already used for a different order$/, "已用于另一个不同的订单"],
  [/^not a valid Chinese mobile or landline number$/, "不是有效的中国大陆手机号或固定电话号码"],
  [/^a 95xxx\/96xxx service number needs the person's extension$/, "95/96 开头的服务号码需要带分机号"],
  [/business number/, "400/800 等企业号码只能用于寄件人"],
  [/^district not recognised$/, "无法识别区县"],
  [/^district name is ambiguous; add the province or city$/, "区县名称有歧义，请补充省或市"],
  [/^district name is ambiguous/, "区县名称有歧义，请补充省或市"],
  [/^cannot be routed: no province, city, district or town code$/, "无法分拣：缺少省、市、区县或乡镇代码"],
  [/^contains characters not allowed in a name or mixes Chinese and Latin letters$/, "含有姓名中不允许的字符，或混用了中文和拉丁字母"],
  [/^has an empty or non-Chinese part around the name dot$/, "间隔号前后有空的或非中文的部分"],
  [/^15-digit first-generation numbers are no longer accepted$/, "不再接受 15 位一代身份证号"],
  [/^must be 17 digits followed by a digit or X$/, "必须是 17 位数字加一位数字或 X"],
  [/^check character does not match$/, "校验码不符"],
  [/^birth date is not a real date$/, "出生日期不存在"],
  [/^birth date is in the future$/, "出生日期在未来"],
  [/^division code is not a known area code$/, "行政区划代码未知"],
];

// Why a whole file was refused (the problem's detail), optionally after "line N: ".
const PROBLEM_ZH = [
  [/^file holds no records: it has a header row only$/, "文件只有表头，没有订单记录"],
  [/^file holds no records \((\d+) blank lines\)$/, "文件没有订单记录（$1 个空行）"],
  [/^file is empty: expected a header row naming the columns$/, "文件为空：第一行应是列名表头"],
  [/^file is empty$/, "文件为空"],
  [/^unknown column '(.+)'$/, "未知的列 '$1'"],
  [/^unknown column number (\d+)$/, "第 $1 列的列名未知"],
  [/^column '(.+)' appears twice$/, "列 '$1' 出现了两次"],
  [/^missing required column\(s\): (.+)$/, "缺少必需的列：$1"],
  [/^give either (\w+)_address or its part columns, not both$/, "$1_address 与其分段地址列只能二选一"],
  [/^first row is not a header: .*$/, "第一行不是表头：应写出列名（order_id, recipient_name, …）"],
  [/^text is not UTF-8 \(GBK\?\); save the file as UTF-8$/, "文本不是 UTF-8（可能是 GBK），请另存为 UTF-8"],
  [/^header is not UTF-8 text; save the file as UTF-8$/, "表头不是 UTF-8 文本，请另存为 UTF-8"],
  [/^file is UTF-16 text; save it as UTF-8$/, "文件是 UTF-16 文本，请另存为 UTF-8"],
  [/^line is longer than 1 MiB; this is not an order file$/, "该行超过 1 MiB，这不是订单文件"],
  [/^file is over the limit of (\d+) bytes$/, "文件超过 $1 字节的上限"],
];

function problemText(detail) {
  if (lang === "en" || !detail) return detail;
  const [, line, rest] = detail.match(/^(?:line (\d+): )?(.*)$/s);
  for (const [pattern, zh] of PROBLEM_ZH) {
    if (pattern.test(rest)) return (line ? `第 ${line} 行：` : "") + rest.replace(pattern, zh);
  }
  return detail;
}

function fieldText(field) {
  if (lang === "en") return field;
  return field.split(".").map((part) => (/^\d+$/.test(part) ? `第${Number(part) + 1}项` : FIELD_ZH[part] || part)).join("");
}

function reasonText(reason) {
  if (lang === "en") return reason;
  for (const [pattern, zh] of REASON_ZH) if (pattern.test(reason)) return reason.replace(pattern, zh);
  return reason;
}

function showRejections(results) {
  const section = document.getElementById("rejections");
  const rejected = results.filter((r) => r.outcome === "rejected");
  section.hidden = rejected.length === 0;
  section.querySelector("tbody").replaceChildren(...rejected.map((r) => {
    const tr = document.createElement("tr");
    tr.append(cell(String(r.position)), cell(r.order_id || "—"), cell(fieldText(r.error.field)), cell(reasonText(r.error.reason)));
    return tr;
  }));
}

Object.assign(MESSAGES.en, { rejectedRows: "Rejected rows", colLine: "Line", colField: "Field", colReason: "Reason" });
