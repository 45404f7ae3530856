// Render ZPL II with zpl-renderer-js (a WebAssembly build of zebrash, which draws labels the
// way Zebra firmware does) so tests can check what a printer would print.
// Usage: node scripts/render-zpl.mjs WIDTH_MM HEIGHT_MM DOTS_PER_MM < label.zpl > label.png
import { ready } from "zpl-renderer-js";

const [widthMm, heightMm, dotsPerMm] = process.argv.slice(2).map(Number);
if (![widthMm, heightMm, dotsPerMm].every((n) => Number.isFinite(n) && n > 0)) {
  process.stderr.write("usage: render-zpl.mjs WIDTH_MM HEIGHT_MM DOTS_PER_MM < label.zpl > label.png\n");
  process.exit(2);
}
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { api } = await ready;
const [png] = await api.zplToBase64MultipleAsync(Buffer.concat(chunks).toString("latin1"), widthMm, heightMm, dotsPerMm);
process.stdout.write(Buffer.from(png, "base64"));
