// What the browser suites share: the page server, the upstream, the proxies
// (stack.py: nginx + the module, Envoy + the filter), headless Chromium over
// the DevTools protocol, and `runCase`, which loads a page on one origin,
// runs fetch() (or any page function) there against a proxy, and cross-checks
// the page's verdict with Chromium's own CORS error and the proxy's access
// log.
//
// Everything listens on 127.0.0.1. Chromium maps every *.test name to
// 127.0.0.1 (--host-resolver-rules), so one page server gives as many
// origins as we like: http://app.example.test:PAGE, http://evil.test:PAGE...
// and a second page port PAGE2 gives the same hosts on another port.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// CORSGATE_BROWSER_PROXIES=nginx (or envoy) runs one proxy's cases only:
// `make test` runs the nginx cases again against nginx 1.28.3, and the Envoy
// cases against each other Envoy release (stack.py then starts that proxy
// only).
export const PROXIES = (process.env.CORSGATE_BROWSER_PROXIES || 'nginx,envoy')
  .split(',').filter((p) => p === 'nginx' || p === 'envoy');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Page server: a blank page for any Host, on two ports.

const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>corsgate</title><body></body>';

async function listen(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server.address().port;
}

function pageServer(extraPages) {
  return http.createServer((req, res) => {
    const u = new URL(req.url, 'http://page');
    const extra = extraPages && extraPages(u);
    if (extra) {
      res.writeHead(200, { 'content-type': extra.type || 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(extra.body);
      return;
    }
    if (u.pathname === '/favicon.ico') {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE_HTML);
  });
}

// ---------------------------------------------------------------------------
// Upstream: behind both proxies. Paths are /p/<policy>/<rest>?id=<case id>.
//   rest = status/NNN   answers NNN
//   rest = acao-star    also sends its own Access-Control-Allow-Origin: *,
//                       -Allow-Credentials: true, -Expose-Headers: x-hidden
//   rest = file/<name>  serves files[name] (issue 8 resources)
//   OPTIONS (a preflight corsgate forwarded): 200, no CORS headers
// Every answer carries X-Exposed: yes and X-Hidden: secret; JSON bodies say
// what the upstream saw (method, cookie, authorization, x-custom-header).

export class Upstream {
  constructor(files = {}) {
    this.files = files;
    this.requests = [];
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    this.port = await listen(this.server);
    return this;
  }

  stop() {
    this.server.closeAllConnections?.();
    this.server.close();
  }

  seen(id) {
    return this.requests.filter((r) => r.id === id);
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url, 'http://upstream');
      const id = u.searchParams.get('id');
      const rest = u.pathname.replace(/^\/p\/[^/]+\//, '');
      this.requests.push({ id, method: req.method, path: u.pathname, headers: req.headers });
      const common = {
        'cache-control': 'no-store',
        'x-exposed': 'yes',
        'x-hidden': 'secret',
      };
      if (req.method === 'OPTIONS') {
        res.writeHead(200, { ...common, 'content-length': '0' });
        res.end();
        return;
      }
      const fileMatch = rest.match(/^file\/(.+)$/);
      if (fileMatch) {
        const f = this.files[fileMatch[1]];
        if (!f) {
          res.writeHead(404, { ...common, 'content-type': 'text/plain' });
          res.end('no such file');
          return;
        }
        res.writeHead(200, { ...common, 'content-type': f.type, 'content-length': f.body.length });
        res.end(req.method === 'HEAD' ? undefined : f.body);
        return;
      }
      let status = 200;
      const m = rest.match(/^status\/([1-5][0-9][0-9])$/);
      if (m) status = Number(m[1]);
      const headers = { ...common, 'content-type': 'application/json' };
      if (rest.startsWith('acao-star')) {
        headers['access-control-allow-origin'] = '*';
        headers['access-control-allow-credentials'] = 'true';
        headers['access-control-expose-headers'] = 'x-hidden';
      }
      const body = JSON.stringify({
        upstream: true,
        status,
        method: req.method,
        cookie: req.headers.cookie || null,
        authorization: req.headers.authorization || null,
        custom: req.headers['x-custom-header'] || null,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  }
}

async function closedPort() {
  // A port nothing listens on (the proxies' "dead" upstream).
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

// ---------------------------------------------------------------------------
// The proxies (stack.py), stopped when its stdin closes.

async function startStack(workdir, upstreamPort, policies) {
  const cfgPath = path.join(workdir, 'stack.json');
  fs.writeFileSync(cfgPath, JSON.stringify({
    workdir, upstream_port: upstreamPort, dead_port: await closedPort(), policies,
  }));
  const proc = spawn('python3', [path.join(HERE, 'stack.py'), cfgPath], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stack.py not ready in 60 s:\n${err}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try { resolve(JSON.parse(out.slice(0, nl))); } catch (e) { reject(e); }
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stack.py exited (${code}):\n${err}`));
    });
  });
  info.proc = proc;
  info.stop = async () => {
    if (proc.exitCode !== null) return;
    const done = new Promise((r) => proc.once('exit', r));
    proc.stdin.end();
    const t = setTimeout(() => proc.kill('SIGTERM'), 20000);
    await done;
    clearTimeout(t);
  };
  return info;
}

// ---------------------------------------------------------------------------
// Chromium: started by us with exactly these flags, driven over CDP.

async function startChromium(userDataDir) {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    `--user-data-dir=${userDataDir}`,
    '--host-resolver-rules=MAP *.test 127.0.0.1',
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    'about:blank',
  ];
  const proc = spawn(CHROMIUM, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const ws = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium: no DevTools URL in 30 s:\n${err}`)), 30000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited (${code}):\n${err}`)); });
  });
  // If this process ends without stop() (a crash), Chromium goes with it;
  // stack.py stops by itself when our end of its stdin closes.
  const onExit = () => { if (proc.exitCode === null) proc.kill('SIGKILL'); };
  process.on('exit', onExit);
  const browser = await chromium.connectOverCDP(ws);
  return {
    browser,
    proc,
    async stop() {
      try { await browser.close(); } catch { /* already gone */ }
      if (proc.exitCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(t);
      }
      process.off('exit', onExit);
    },
  };
}

// ---------------------------------------------------------------------------
// The environment of one suite.

export class Env {
  // policies: (pagePort, pagePort2) => {name: policy}
  constructor({ policies, files, extraPages }) {
    this.policiesFn = policies;
    this.upstream = new Upstream(files || {});
    this.extraPages = extraPages;
    this.seq = 0;
  }

  async start() {
    this.workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'corsgate-browser-'));
    this.pages = [pageServer(this.extraPages), pageServer(this.extraPages)];
    this.P = await listen(this.pages[0]);
    this.P2 = await listen(this.pages[1]);
    await this.upstream.start();
    this.policies = this.policiesFn(this.P, this.P2);
    this.stack = await startStack(this.workdir, this.upstream.port, this.policies);
    this.chrome = await startChromium(path.join(this.workdir, 'chromium-profile'));
    this.browser = this.chrome.browser;
  }

  async stop() {
    if (this.chrome) await this.chrome.stop();
    if (this.stack) await this.stack.stop();
    this.upstream.stop();
    for (const s of this.pages || []) { s.closeAllConnections?.(); s.close(); }
    if (this.workdir && !process.env.KEEP_BROWSER_WORKDIR) {
      fs.rmSync(this.workdir, { recursive: true, force: true });
    }
  }

  port(proxy) {
    return this.stack[proxy];
  }

  // Origin of a page: host on the first page port unless one is given.
  origin(host, port) {
    return `http://${host}:${port ?? this.P}`;
  }

  newId(proxy) {
    this.seq += 1;
    return `${proxy}-${this.seq}-${Date.now().toString(36)}`;
  }

  url(proxy, policy, rest, id, host = 'api.test') {
    return `http://${host}:${this.port(proxy)}/p/${policy}/${rest}?id=${id}`;
  }

  // The access-log lines of one proxy for a case id: [{method, uri, line}].
  logLines(proxy, id) {
    const file = this.stack[`${proxy}_log`];
    const text = fs.readFileSync(file, 'utf8');
    const re = new RegExp(`[?&]id=${id}(?:&|\\s|$)`);
    return text.split('\n').filter((l) => re.test(l)).map((line) => {
      const [method, uri] = line.split(' ');
      const status = Number((line.match(/status=(\d+)/) || [])[1]);
      let origin = (line.match(/origin=(\S*)/) || [])[1] || '';
      if (origin === '-') origin = ''; // Envoy's "no such header"
      return { method, uri, status, origin, line };
    });
  }

  // The log lines of a case once no new one came for 150 ms.
  async settledLog(proxy, id) {
    let lines = await this.waitLog(proxy, id);
    for (;;) {
      await sleep(150);
      const again = this.logLines(proxy, id);
      if (again.length === lines.length) return again;
      lines = again;
    }
  }

  // Waits (<= 3 s) until pred(lines) holds; returns the lines either way.
  async waitLog(proxy, id, pred = (l) => l.length > 0) {
    const deadline = Date.now() + 3000;
    let lines = this.logLines(proxy, id);
    while (!pred(lines) && Date.now() < deadline) {
      await sleep(25);
      lines = this.logLines(proxy, id);
    }
    return lines;
  }
}

// ---------------------------------------------------------------------------
// One page with CDP network events recorded.

export async function openPage(context, origin, pagePath = '/') {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const net = { urls: new Map(), failed: [], finished: [], responses: [] };
  cdp.on('Network.requestWillBeSent', (e) => {
    net.urls.set(e.requestId, { url: e.request.url, method: e.request.method, type: e.type });
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = net.urls.get(e.requestId) || {};
    net.failed.push({ ...r, errorText: e.errorText, corsError: e.corsErrorStatus?.corsError ?? null,
      corsParam: e.corsErrorStatus?.failedParameter ?? null, blockedReason: e.blockedReason ?? null });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = net.urls.get(e.requestId) || {};
    net.finished.push({ ...r });
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = net.urls.get(e.requestId) || {};
    net.responses.push({ ...r, status: e.response.status });
  });
  await cdp.send('Network.enable');
  await page.goto(origin + pagePath);
  return { page, cdp, net };
}

// Runs in the page: fetch and report what JavaScript can see.
export async function pageFetch({ url, init, read }) {
  try {
    const r = await fetch(url, init);
    const body = await r.text();
    const headers = {};
    for (const h of read) headers[h] = r.headers.get(h);
    return { ok: r.ok, status: r.status, type: r.type, body, headers };
  } catch (e) {
    return { error: String(e) };
  }
}

export const DEFAULT_READ = ['x-exposed', 'x-hidden', 'content-type'];

export async function doFetch(page, url, init = {}, read = DEFAULT_READ) {
  return page.evaluate(pageFetch, { url, init, read });
}

// Chromium's failures of requests to `url` (waits up to 2 s for one when
// the page saw an error: CDP events and the page's promise race).
export async function failuresFor(net, url, expectOne) {
  const deadline = Date.now() + 2000;
  for (;;) {
    const f = net.failed.filter((x) => x.url === url);
    if (!expectOne || f.length > 0 || Date.now() > deadline) return f;
    await sleep(20);
  }
}

// Asserts the verdict of one request made by the page:
//   expect 'allowed': no error in the page, no CORS failure in CDP;
//   expect 'blocked': the page saw an error, and CDP reports a CORS error
//     for that URL (never a connection error), `corsError` when given.
// Either way the proxy's access log must hold the request's id, so a dead
// proxy can never pass as "blocked".
export async function checkVerdict(env, proxy, id, net, url, res, { expect, corsError }) {
  const fails = await failuresFor(net, url, 'error' in res);
  const lines = await env.waitLog(proxy, id);
  const ctx = () => `\n  page: ${JSON.stringify(res)}\n  cdp failures: ${JSON.stringify(fails)}\n  ${proxy} log: ${JSON.stringify(lines.map((l) => l.line))}`;
  assert.ok(lines.length > 0, `the request never reached ${proxy}` + ctx());
  if (expect === 'allowed') {
    assert.ok(!('error' in res), 'expected allowed, the page saw an error' + ctx());
    assert.equal(fails.filter((f) => f.corsError).length, 0, 'CDP reports a CORS error' + ctx());
  } else {
    assert.ok('error' in res, 'expected blocked, the page read the response' + ctx());
    const cors = fails.filter((f) => f.corsError);
    assert.ok(cors.length > 0, 'the page saw an error but Chromium reports no CORS error' + ctx());
    for (const f of fails) {
      assert.doesNotMatch(f.errorText, /CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|TIMED_OUT|NAME_NOT_RESOLVED/,
        'a network failure, not a CORS block' + ctx());
    }
    if (corsError) {
      assert.ok(cors.some((f) => f.corsError === corsError),
        `expected Chromium corsError ${corsError}` + ctx());
    }
  }
  return { lines, fails };
}
