// The web console in a real browser. Starts the real `dotdo serve` on a free loopback port with a
// temporary data directory, drives Debian's chromium headless through puppeteer-core (installed by
// scripts/setup.sh into third_party/npm-web; it downloads no browser), and checks what a person
// would see: the namespace list shows the namespace, a document created through the API appears
// in the document browser (and its history), and its change event arrives in the live tail. A
// PNG screenshot of the page is written to --screenshot (CTest: <build>/tests/artifacts/).
//
// Run by CTest as `server.console_browser`:
//   node console_browser_test.js --dotdo <dotdo binary> --web <web dir> --screenshot <png>
//        --npm <dir with node_modules/puppeteer-core> [--npm <another>] [--chromium /usr/bin/chromium]
// A missing node, chromium or puppeteer-core is a failure, never a skip: CI runs scripts/setup.sh.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { createRequire } = require("node:module");

const kDeadlineMs = 40000;  // a run takes 5-8 s; the bound is for a loaded CI machine
const started = Date.now();
let server = null;
let browser = null;
let dataDir = null;
let serverErr = "";

function args(name) {
  const out = [];
  for (let i = 2; i < process.argv.length - 1; ++i) if (process.argv[i] === name) out.push(process.argv[i + 1]);
  return out;
}
const arg = (name, fallback) => args(name)[0] ?? fallback;

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) server.kill("SIGKILL");
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}

async function fail(message) {
  console.error(`console browser test: FAIL: ${message}`);
  if (serverErr) console.error(`server stderr (last 2000 bytes):\n${serverErr.slice(-2000)}`);
  await cleanup();
  process.exit(1);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function log(step) { console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${step}`); }

// Starts `dotdo serve` and resolves with its base URL (from the JSON line it prints once it listens).
function startServer(dotdo, web) {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "dotdo-console-"));
  server = spawn(dotdo, ["--data", dataDir, "--compact", "serve", "--listen", "127.0.0.1:0", "--web", web, "--threads", "8"],
                 { stdio: ["ignore", "pipe", "pipe"] });
  server.stderr.on("data", (d) => { serverErr = (serverErr + d).slice(-20000); });
  return new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      try { resolve(JSON.parse(out.slice(0, nl)).listening); } catch (e) { reject(new Error(`bad first line '${out}'`)); }
    });
    server.on("exit", (code) => reject(new Error(`dotdo serve exited with ${code} before listening`)));
    server.on("error", reject);
  });
}

async function api(base, method, route, body) {
  const res = await fetch(base + route, { method, headers: { "Content-Type": "application/json" },
                                          body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function main() {
  const dotdo = arg("--dotdo");
  const web = arg("--web");
  const screenshot = arg("--screenshot");
  const chromium = arg("--chromium", "/usr/bin/chromium");
  check(dotdo && web && screenshot, "usage: --dotdo BIN --web DIR --screenshot PNG --npm DIR...");
  check(fs.existsSync(dotdo), `no dotdo binary at ${dotdo}`);
  check(fs.existsSync(path.join(web, "index.html")), `no web console in ${web}`);
  check(fs.existsSync(chromium), `no chromium at ${chromium}: run scripts/setup.sh (Debian package chromium)`);
  const npm = args("--npm").find((d) => fs.existsSync(path.join(d, "node_modules", "puppeteer-core", "package.json")));
  check(npm, `puppeteer-core not found under ${args("--npm").join(", ")}: run scripts/setup.sh (third_party/npm-web)`);
  const puppeteer = createRequire(path.resolve(npm, "package.json"))("puppeteer-core");

  const base = await startServer(dotdo, web);
  log(`dotdo serve listening on ${base}`);
  // A namespace exists before the page loads, so the console selects it and starts its live tail.
  let r = await api(base, "POST", "/v1/ns/acme/docs", { $type: "Customer", $id: "seed", name: "Seed" });
  check(r.status === 201, `seeding the namespace answered ${r.status}`);

  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // --no-sandbox: the tests run as root, where chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  page.setDefaultTimeout(8000);
  await page.goto(base + "/", { waitUntil: "load" });
  log("console loaded");

  // 1. The namespace list shows the namespace, with its stats.
  await page.waitForFunction(() => [...document.querySelectorAll("#ns option")].some((o) => o.value === "acme"));
  check(await page.$eval("#ns", (s) => s.value) === "acme", "namespace acme is not selected");
  await page.waitForFunction(() => document.querySelector("#stats dl") !== null);
  log("namespace list shows acme");
  // The live tail is connected before the document is created (it tails what commits from now on).
  await page.waitForFunction(() => document.getElementById("tail-state").textContent.startsWith("live"));
  log("live tail connected");

  // 2. A document created through the API...
  r = await api(base, "POST", "/v1/ns/acme/docs", { $type: "Customer", $id: "ada", name: "Ada Lovelace", age: 36 });
  check(r.status === 201, `creating the document answered ${r.status}`);
  const events = await api(base, "GET", "/v1/ns/acme/events?after=0");
  const lsn = events.json.last_lsn;
  // ...arrives in the live tail as its change event...
  await page.waitForFunction((want) => [...document.querySelectorAll("#events li")].some(
      (li) => li.textContent.startsWith(`#${want} `) && li.textContent.includes("ada")), {}, lsn);
  const tailLine = await page.$eval("#events li", (li) => li.textContent);
  check(tailLine.includes("insert") || tailLine.includes("create"), `tail line '${tailLine}' is not a create event`);
  log(`live tail shows '${tailLine}'`);

  // ...and in the document browser, with its history.
  await page.type("#doc-type", "Customer");
  await page.click("#doc-query button");
  await page.waitForFunction(() => [...document.querySelectorAll("#docs tbody tr")].some(
      (tr) => tr.cells[0].textContent === "ada" && tr.cells[2].textContent.includes("Ada Lovelace")));
  const ids = await page.$$eval("#docs tbody tr", (rows) => rows.map((tr) => tr.cells[0].textContent).sort());
  check(JSON.stringify(ids) === JSON.stringify(["ada", "seed"]), `document browser shows ${JSON.stringify(ids)}`);
  log("document browser shows ada and seed");
  const rows = await page.$$("#docs tbody tr");
  for (const row of rows) {
    if (await row.$eval("td", (td) => td.textContent) === "ada") await row.click();
  }
  await page.waitForFunction(() => document.getElementById("history").children.length === 1 &&
                             document.getElementById("history-title").textContent === "History of ada");
  check(await page.$eval("#status", (s) => s.textContent) === "", "the console shows an error");
  check(pageErrors.length === 0, `errors in the page: ${pageErrors.join("; ")}`);

  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot written to ${screenshot}`);
  await browser.close();
  browser = null;

  // The server stops cleanly on SIGTERM (the open event stream ends).
  const exited = new Promise((resolve) => server.on("exit", (code, signal) => resolve({ code, signal })));
  server.kill("SIGTERM");
  const { code, signal } = await exited;
  check(code === 0, `dotdo serve exited with ${code} (${signal}) after SIGTERM`);
  await cleanup();
  log("passed");
}

setTimeout(() => fail(`not done after ${kDeadlineMs} ms`), kDeadlineMs).unref();
main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
