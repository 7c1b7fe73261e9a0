// Drives browser phones for the Python integration tests: serves this folder on a
// loopback HTTP port, starts Debian's headless Chromium once through puppeteer-core and
// answers JSON lines on stdin, one reply line on stdout each:
//   {"id":1,"cmd":"open","phone":"a"}                              -> a new page (phone)
//   {"id":2,"cmd":"call","phone":"a","method":"register","args":[{...}]} -> window.phone.register(...)
//   {"id":3,"cmd":"quit"}
// Replies: {"id":1,"ok":true,"result":...} or {"id":1,"ok":false,"error":"..."}.
// The first line written is {"ready":true,"http":"http://127.0.0.1:PORT"}.
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";

const root = path.dirname(fileURLToPath(import.meta.url));
const types = { ".html": "text/html", ".js": "text/javascript", ".json": "application/json" };

const server = http.createServer((req, res) => {
  const file = path.normalize(path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname)));
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), "sipproxy-chromium-"));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  userDataDir: profile,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    // Without these Chromium's own connections are refused by this closed network.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    // The test CA is not in Chromium's store: accept the proxy's test certificate. Only
    // for this test browser, which talks to nothing but loopback.
    "--ignore-certificate-errors",
    // Let WebRTC use loopback candidates, so two phones connect on a closed machine.
    "--allow-loopback-in-peer-connection",
  ],
});

const pages = new Map();
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

async function handle(msg) {
  switch (msg.cmd) {
    case "open": {
      const page = await browser.newPage();
      page.on("console", (m) => process.stderr.write(`[${msg.phone}] ${m.text()}\n`));
      page.on("pageerror", (e) => process.stderr.write(`[${msg.phone}] page error: ${e}\n`));
      await page.goto(`${base}/phone.html`);
      await page.waitForFunction(() => window.phone !== undefined, { timeout: 10000 });
      pages.set(msg.phone, page);
      return true;
    }
    case "call": {
      const page = pages.get(msg.phone);
      if (!page) throw new Error(`no phone ${msg.phone}`);
      return await page.evaluate((m, a) => window.phone[m](...a), msg.method, msg.args || []);
    }
    case "quit":
      return true;
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

async function quit() {
  try { await browser.close(); } catch {}
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
  process.exit(0);
}

out({ ready: true, http: base });
const rl = readline.createInterface({ input: process.stdin });
// One command at a time, in order: the Python side waits for each reply anyway.
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let msg;
    try { msg = JSON.parse(line); } catch { out({ ok: false, error: "bad JSON" }); return; }
    try {
      const result = await handle(msg);
      out({ id: msg.id, ok: true, result: result === undefined ? null : result });
      if (msg.cmd === "quit") await quit();
    } catch (e) {
      out({ id: msg.id, ok: false, error: String(e && e.message ? e.message : e) });
    }
  });
});
rl.on("close", () => { queue = queue.then(quit); });
