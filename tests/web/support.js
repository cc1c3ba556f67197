// What the browser tests share: where the binaries are, how Chromium is
// started, the real `rapport` CLI as another device, processes started and
// stopped, waiting for a condition, and axe-core's serious findings.
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
// Where cargo put the binaries: CARGO_TARGET_DIR if set (as cargo itself reads it), else target/.
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
const SERVER_BIN = path.join(TARGET, 'debug', 'rapport-server');
const CLI_BIN = path.join(TARGET, 'debug', 'rapport');
const ARTIFACTS = path.join(ROOT, 'artifacts');
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-quic', '--disable-component-update', '--disable-sync',
];

/** Runs the CLI on `replica`; returns the last line it printed (a new record's id). */
function cli(replica, ...args) {
  const out = execFileSync(CLI_BIN, ['--replica', replica, ...args], { encoding: 'utf8', timeout: 30000 });
  const lines = out.trim().split('\n');
  return lines[lines.length - 1].trim();
}

/** Starts `bin` and resolves once its standard output matches `pattern`. */
function spawnUntil(bin, args, env, pattern, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(what + ' did not start in time')), 30000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); resolve({ child, match: m }); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(what + ' exited with ' + code + ': ' + out)); });
  });
}

/** Stops a process with SIGTERM; resolves to its exit code (null if the signal killed it). */
async function stop(child) {
  if (!child || child.exitCode !== null) return child && child.exitCode;
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

/** Polls `check` until it returns something truthy (that value), or fails after `ms`. */
async function until(what, check, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error('timed out waiting for ' + what);
}

/** axe-core's serious and critical findings on `page`, injected without a <script> (the policy allows none inline). */
async function accessibilityProblems(page) {
  await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '));
}

/**
 * Starts `rapport app` on `replica` and a fresh headless Chromium profile
 * under `tmp` (a laptop's size, en-US); the page's console and script
 * errors are pushed to `consoleErrors`. Answers the app's process, its
 * one-time link and base address, the browser context and its page.
 */
async function openApp(replica, tmp, consoleErrors) {
  const started = await spawnUntil(CLI_BIN, ['--replica', replica, 'app', '--no-open'], {},
    /(http:\/\/127\.0\.0\.1:\d+)\/open\?secret=[0-9a-f]{64}/, 'rapport app');
  const { chromium } = require('playwright-core');
  const context = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(tmp, 'chromium-')), {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 900 }, locale: 'en-US',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return { app: started.child, link: started.match[0], base: started.match[1], context, page };
}

/** `rapport --replica REPLICA ARGS…`'s JSON output, parsed. */
function cliJson(replica, ...args) {
  return JSON.parse(execFileSync(CLI_BIN, ['--replica', replica, ...args], { encoding: 'utf8', timeout: 30000 }));
}

/** POSTs `body` to the server's admin API at `serverUrl + pathname` with `token`; asserts a 200 and answers the JSON. */
async function adminPost(serverUrl, token, pathname, body) {
  const res = await fetch(serverUrl + pathname, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** Starts `rapport-server` on `dataDir` with admin token `token`, listening on `listen`; resolves to its process and URL. */
async function startServer(dataDir, token, listen = '127.0.0.1:0') {
  const { child, match } = await spawnUntil(SERVER_BIN, ['serve', '--listen', listen, '--data', dataDir],
    { RAPPORT_ADMIN_TOKEN: token, RUST_LOG: 'warn' }, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 'the server');
  child.on('exit', () => {});
  return { child, url: match[1] };
}

/** A new device token for the user `admin`, named `name`, from the server's admin API. */
async function deviceToken(serverUrl, token, name) {
  return (await adminPost(serverUrl, token, '/v1/admin/users/admin/devices', { name })).token;
}

/** The account names the desktop app's list shows, in order. */
async function listedNames(page) {
  return page.$$eval('[data-testid=account-list] tbody button', (bs) => bs.map((b) => b.textContent));
}

/** A full-page screenshot of `page` kept as the CI artifact `artifacts/NAME`. */
async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

module.exports = {
  ROOT, SERVER_BIN, CLI_BIN, ARTIFACTS, CHROMIUM_ARGS, cli, cliJson, adminPost, deviceToken, spawnUntil,
  startServer, stop, until, accessibilityProblems, openApp, listedNames, screenshot,
};
