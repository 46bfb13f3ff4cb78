// Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe: JSON messages
// separated by NUL on fds 3 and 4, so no WebSocket library is needed) to check the chat page:
// it opens URL (which sends a first message), waits until the streamed reply has finished,
// checks the DOM, takes a screenshot and checks that both chat bubbles were painted.
// Usage: node web_page_check.mjs CHROMIUM URL WORKDIR
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { inflateSync } from "node:zlib";

const [chromium, url, work] = process.argv.slice(2);
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
  "--no-first-run", `--user-data-dir=${work}/profile`, "--window-size=800,600", "--remote-debugging-pipe", url,
], { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
const killer = setTimeout(() => { console.error("timed out"); browser.kill(); process.exit(1); }, 40000);

let nextId = 0, buffer = "";
const pending = new Map();
browser.stdio[4].on("data", (data) => {
  buffer += data.toString();
  let end;
  while ((end = buffer.indexOf("\0")) >= 0) {
    const message = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    const waiter = pending.get(message.id);
    if (!waiter) continue;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
    else waiter.resolve(message.result);
  }
});
function send(method, params = {}, sessionId) {
  const id = ++nextId;
  browser.stdio[3].write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + "\0");
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let page;
for (let i = 0; i < 100 && !page; ++i) {
  page = (await send("Target.getTargets")).targetInfos.find((t) => t.type === "page" && t.url.startsWith(url.split("?")[0]));
  if (!page) await sleep(100);
}
assert.ok(page, "the page opened");
const { sessionId } = await send("Target.attachToTarget", { targetId: page.targetId, flatten: true });
const evaluate = async (expression) =>
  (await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)).result.value;

let state;
for (let i = 0; i < 150; ++i) {
  state = await evaluate(`(() => {
    const a = document.querySelector(".msg.assistant"), d = a && a.querySelector("details");
    return a && { finish: a.dataset.finish || "", user: document.querySelector(".msg.user").textContent,
      reasoning: d.lastChild.textContent, hidden: d.hidden, open: d.open, stats: document.getElementById("stats").textContent };
  })()`);
  if (state?.finish && state.stats) break;
  await sleep(100);
}
console.log(JSON.stringify(state));
assert.equal(state.user, "Hello there");
assert.equal(state.finish, "length", "the streamed reply ended with a finish_reason");
assert.ok(state.reasoning.length > 0, "reasoning arrived as reasoning_content deltas");
assert.equal(state.hidden, false, "the reasoning block is shown");
assert.equal(state.open, false, "and folded");
assert.match(state.stats, /prompt tokens/, "usage shown after the stream");

const { data } = await send("Page.captureScreenshot", { format: "png" }, sessionId);
const png = Buffer.from(data, "base64");
writeFileSync(`${work}/page.png`, png);
await send("Browser.close").catch(() => {});
clearTimeout(killer);

// Decode the PNG (8-bit RGB/RGBA, not interlaced, as Chromium writes it) and count the
// colours of the two bubbles: the page was laid out and painted, not blank.
let pos = 8, width = 0, height = 0, channels = 4;
const idat = [];
while (pos < png.length) {
  const n = png.readUInt32BE(pos), kind = png.toString("latin1", pos + 4, pos + 8), body = png.subarray(pos + 8, pos + 8 + n);
  if (kind === "IHDR") {
    width = body.readUInt32BE(0); height = body.readUInt32BE(4);
    assert.equal(body[8], 8); assert.equal(body[12], 0);
    channels = body[9] === 2 ? 3 : 4;
  }
  if (kind === "IDAT") idat.push(body);
  pos += 12 + n;
}
const raw = inflateSync(Buffer.concat(idat)), stride = width * channels;
const counts = new Map();
let prev = new Uint8Array(stride);
for (let y = 0; y < height; ++y) {
  const filter = raw[y * (stride + 1)], line = new Uint8Array(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
  for (let i = 0; i < stride; ++i) {
    const a = i >= channels ? line[i - channels] : 0, b = prev[i], c = i >= channels ? prev[i - channels] : 0;
    const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
    const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    line[i] = (line[i] + [0, a, b, (a + b) >> 1, paeth][filter]) & 255;
  }
  for (let x = 0; x < stride; x += channels) {
    const rgb = (line[x] << 16) | (line[x + 1] << 8) | line[x + 2];
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  prev = line;
}
const userBubble = counts.get(0xdbeafe) ?? 0, border = counts.get(0xdddddd) ?? 0;
console.log(`screenshot ${width}x${height}: ${counts.size} colours, user bubble ${userBubble} px, assistant border ${border} px`);
assert.ok(userBubble > 1000, "the user's bubble is painted");
assert.ok(border > 100, "the assistant's bubble is painted");
assert.ok(counts.size > 20, "text was rendered");
process.exit(0);
