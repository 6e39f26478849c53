// corsgate in a real browser (issue 5): headless Chromium loads pages on
// many origins and calls fetch() against nginx + the module and Envoy + the
// filter, both configured with the same policies. Every case runs against
// both proxies, in a fresh browser context unless it tests the preflight
// cache. Run: scripts/browser-tests (or `node --test` here).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Env, PROXIES, checkVerdict, doFetch, openPage } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const APP = 'app.example.test';
const PREFLIGHT_HDRS = ['content-type', 'x-custom-header', 'authorization'];

// Policies, written with the page ports chosen at start (P, P2).
function policies(P) {
  const app = `http://${APP}:${P}`;
  return {
    exact: {
      allow_origins: [app],
      allow_methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
      allow_headers: PREFLIGHT_HDRS,
      expose_headers: ['x-exposed'],
    },
    wild: { allow_origins: [`http://*.example.test:${P}`] },
    port: { allow_origins: ['http://ports.test:*'] },
    regex: { allow_origins: [`regex:http://app[0-9]+\\.example\\.test:${P}`] },
    any: {
      allow_origins: ['*'],
      allow_methods: ['GET', 'PUT'],
      allow_headers: ['x-custom-header'],
      expose_headers: ['x-exposed'],
    },
    creds: {
      allow_origins: [`http://localhost:${P}`],
      allow_methods: ['GET', 'PUT'],
      allow_headers: ['x-custom-header'],
      expose_headers: ['x-exposed'],
      allow_credentials: true,
    },
    nocreds: { allow_origins: [`http://localhost:${P}`] },
    mixedcase: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['X-Custom-Header'] },
    hdrstar: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['*'] },
    cache600: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['x-custom-header'], max_age: 600 },
    cache0: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['x-custom-header'], max_age: 0 },
    cache1: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['x-custom-header'], max_age: 1 },
    report: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['x-custom-header'], mode: 'report' },
    reject: { allow_origins: [app], on_actual_deny: 'reject' },
    forward: { allow_origins: [app], allow_methods: ['PUT'], on_preflight_deny: 'forward' },
    status200: { allow_origins: [app], allow_methods: ['PUT'], allow_headers: ['x-custom-header'], preflight_status: 200 },
  };
}

const env = new Env({ policies });

const PUT_CUSTOM = { method: 'PUT', headers: { 'x-custom-header': 'v1' }, body: 'x' };
const json = (res) => JSON.parse(res.body);
const methods = (lines) => lines.map((l) => l.method);

// status403: the proxy log must show exactly one OPTIONS answered 403.
// Each case: from (page host, or [host, 'P2']), policy, rest (upstream
// path), init (fetch options), expect, corsError (Chromium's, when blocked),
// check (more assertions), apiHost (default api.test), cookie.
const CASES = [
  // --- origins: exact -----------------------------------------------------
  { name: 'exact origin: allowed', from: APP, policy: 'exact', expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).method, 'GET') },
  { name: 'exact origin: other port blocked', from: [APP, 'P2'], policy: 'exact', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'exact origin: subdomain of it blocked', from: `x.${APP}`, policy: 'exact', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'exact origin: as prefix of an attacker host blocked', from: `${APP}.evil.test`, policy: 'exact', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'exact origin: unrelated origin blocked', from: 'evil.test', policy: 'exact', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'exact origin: parent domain blocked', from: 'example.test', policy: 'exact', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  // --- origins: subdomain wildcard -----------------------------------------
  { name: 'subdomain wildcard: one label allowed', from: 'a.example.test', policy: 'wild', expect: 'allowed' },
  { name: 'subdomain wildcard: two labels allowed', from: 'a.b.example.test', policy: 'wild', expect: 'allowed' },
  { name: 'subdomain wildcard: apex blocked', from: 'example.test', policy: 'wild', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'subdomain wildcard: no dot boundary (evilexample) blocked', from: 'evilexample.test', policy: 'wild', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'subdomain wildcard: other port blocked', from: ['a.example.test', 'P2'], policy: 'wild', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'subdomain wildcard: suffix inside attacker host blocked', from: 'a.example.test.evil.test', policy: 'wild', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  // --- origins: port wildcard ---------------------------------------------
  { name: 'port wildcard: first port allowed', from: 'ports.test', policy: 'port', expect: 'allowed' },
  { name: 'port wildcard: second port allowed', from: ['ports.test', 'P2'], policy: 'port', expect: 'allowed' },
  { name: 'port wildcard: subdomain blocked', from: 'a.ports.test', policy: 'port', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'port wildcard: longer host blocked', from: 'ports.test.evil.test', policy: 'port', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  // --- origins: regex -----------------------------------------------------
  { name: 'regex origin: full match allowed', from: 'app42.example.test', policy: 'regex', expect: 'allowed' },
  { name: 'regex origin: partial match blocked', from: 'app42.example.test.evil.test', policy: 'regex', expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  // --- any origin ----------------------------------------------------------
  { name: '* : any origin reads the response', from: 'evil.test', policy: 'any', expect: 'allowed',
    check: ({ res }) => assert.equal(res.headers['x-exposed'], 'yes') },
  { name: '* : credentials include blocked by the browser', from: 'evil.test', policy: 'any', init: { credentials: 'include' },
    expect: 'blocked', corsError: 'WildcardOriginNotAllowed' },
  { name: '* : preflighted PUT allowed', from: 'evil.test', policy: 'any', init: PUT_CUSTOM, expect: 'allowed',
    check: ({ lines }) => assert.deepEqual(methods(lines), ['OPTIONS', 'PUT']) },
  // --- credentials ---------------------------------------------------------
  { name: 'credentials: exact origin + include sends and reads the cookie', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', init: { credentials: 'include' }, expect: 'allowed',
    check: ({ res }) => { assert.equal(json(res).cookie, 'sid=s3cret'); assert.equal(res.headers['x-exposed'], 'yes'); } },
  { name: 'credentials: preflighted PUT with include allowed', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', init: { ...PUT_CUSTOM, credentials: 'include' }, expect: 'allowed',
    check: ({ res, lines }) => { assert.equal(json(res).cookie, 'sid=s3cret'); assert.deepEqual(methods(lines), ['OPTIONS', 'PUT']); } },
  { name: 'credentials: omit sends no cookie', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', init: { credentials: 'omit' }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).cookie, null) },
  { name: 'credentials: unlisted origin (127.0.0.1) blocked', from: '127.0.0.1', apiHost: 'localhost', cookie: true,
    policy: 'creds', init: { credentials: 'include' }, expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'credentials: policy without credentials, include blocked', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'nocreds', init: { credentials: 'include' }, expect: 'blocked', corsError: 'InvalidAllowCredentials' },
  { name: 'credentials: policy without credentials, omit allowed', from: 'localhost', apiHost: 'localhost',
    policy: 'nocreds', init: { credentials: 'omit' }, expect: 'allowed' },
  // --- preflighted methods --------------------------------------------------
  { name: 'preflight: PUT with custom header + JSON allowed', from: APP, policy: 'exact',
    init: { method: 'PUT', headers: { 'x-custom-header': 'v1', 'content-type': 'application/json' }, body: '{"a":1}' },
    expect: 'allowed',
    check: ({ res, lines }) => {
      const b = json(res);
      assert.equal(b.method, 'PUT'); assert.equal(b.custom, 'v1'); assert.equal(b.body, '{"a":1}');
      assert.deepEqual(methods(lines), ['OPTIONS', 'PUT']);
      assert.equal(lines[0].status, 204);
    } },
  { name: 'preflight: DELETE with custom header allowed', from: APP, policy: 'exact',
    init: { method: 'DELETE', headers: { 'x-custom-header': 'v2' } }, expect: 'allowed',
    check: ({ res }) => { assert.equal(json(res).method, 'DELETE'); assert.equal(json(res).custom, 'v2'); } },
  { name: 'preflight: PATCH with custom header allowed', from: APP, policy: 'exact',
    init: { method: 'PATCH', headers: { 'x-custom-header': 'v3' }, body: 'p' }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).method, 'PATCH') },
  { name: 'preflight: lowercase "patch" is not PATCH (blocked)', from: APP, policy: 'exact',
    init: { method: 'patch', body: 'p' }, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader', status403: true,
    check: ({ lines, upstream }) => { assert.deepEqual(methods(lines), ['OPTIONS']); assert.equal(lines[0].status, 403); assert.equal(upstream.length, 0); } },
  { name: 'preflight: lowercase "delete" is normalised to DELETE (allowed)', from: APP, policy: 'exact',
    init: { method: 'delete' }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).method, 'DELETE') },
  { name: 'preflight: PUT from a denied origin never reaches the upstream', from: 'evil.test', policy: 'exact',
    init: PUT_CUSTOM, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader', status403: true,
    check: ({ lines, upstream }) => { assert.deepEqual(methods(lines), ['OPTIONS']); assert.equal(upstream.length, 0); } },
  { name: 'preflight: header not allowed blocked', from: APP, policy: 'exact',
    init: { method: 'PUT', headers: { 'x-other': '1' } }, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader', status403: true,
    check: ({ upstream }) => assert.equal(upstream.length, 0) },
  { name: 'preflight: method not in policy (default methods) blocked', from: 'a.example.test', policy: 'wild',
    init: { method: 'PUT' }, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader', status403: true },
  { name: 'preflight: POST with JSON content-type allowed', from: APP, policy: 'exact',
    init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, expect: 'allowed',
    check: ({ lines }) => assert.deepEqual(methods(lines), ['OPTIONS', 'POST']) },
  { name: 'preflight: preflight_status 200 works', from: APP, policy: 'status200', init: PUT_CUSTOM, expect: 'allowed',
    check: ({ lines }) => { assert.deepEqual(methods(lines), ['OPTIONS', 'PUT']); assert.equal(lines[0].status, 200); } },
  // --- header-name case ----------------------------------------------------
  { name: 'header case: X-CUSTOM-HEADER against a lowercase policy allowed', from: APP, policy: 'exact',
    init: { method: 'PUT', headers: { 'X-CUSTOM-HEADER': 'up' } }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).custom, 'up') },
  { name: 'header case: x-custom-header against a policy written X-Custom-Header allowed', from: APP, policy: 'mixedcase',
    init: { method: 'PUT', headers: { 'x-custom-header': 'low' } }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).custom, 'low') },
  { name: 'header case: Content-Type: application/JSON still preflighted and allowed', from: APP, policy: 'exact',
    init: { method: 'POST', headers: { 'Content-Type': 'application/JSON' }, body: '{}' }, expect: 'allowed',
    check: ({ lines }) => assert.deepEqual(methods(lines), ['OPTIONS', 'POST']) },
  // --- Authorization --------------------------------------------------------
  { name: 'authorization: listed, allowed and forwarded', from: APP, policy: 'exact',
    init: { headers: { authorization: 'Bearer t0ken' } }, expect: 'allowed',
    check: ({ res, lines }) => { assert.equal(json(res).authorization, 'Bearer t0ken'); assert.deepEqual(methods(lines), ['OPTIONS', 'GET']); } },
  { name: 'authorization: allow_headers * does not cover it (blocked)', from: APP, policy: 'hdrstar',
    init: { method: 'PUT', headers: { authorization: 'Bearer t0ken' } }, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader', status403: true,
    check: ({ upstream }) => assert.equal(upstream.length, 0) },
  { name: 'authorization: allow_headers * covers other names', from: APP, policy: 'hdrstar',
    init: { method: 'PUT', headers: { 'x-anything': '1', 'x-custom-header': '2' } }, expect: 'allowed' },
  // --- exposed headers ------------------------------------------------------
  { name: 'expose: listed header readable', from: APP, policy: 'exact', expect: 'allowed',
    check: ({ res }) => assert.equal(res.headers['x-exposed'], 'yes') },
  { name: 'expose: unlisted header unreadable', from: APP, policy: 'exact', expect: 'allowed',
    check: ({ res }) => { assert.equal(res.headers['x-hidden'], null); assert.equal(res.headers['content-type'], 'application/json'); } },
  { name: 'expose: nothing exposed without expose_headers', from: 'a.example.test', policy: 'wild', expect: 'allowed',
    check: ({ res }) => { assert.equal(res.headers['x-exposed'], null); assert.equal(res.headers['x-hidden'], null); } },
  // --- report mode ------------------------------------------------------------
  { name: 'report mode: allowed origin still blocked by the browser', from: APP, policy: 'report', expect: 'blocked',
    corsError: 'MissingAllowOriginHeader',
    check: ({ upstream, lines, proxy }) => {
      assert.equal(upstream.length, 1);
      // nginx's $cors_result records what enforcing would have done
      if (proxy === 'nginx') assert.match(lines[0].line, / cors=allowed$/);
    } },
  { name: 'report mode: preflight goes to the upstream, browser blocks', from: APP, policy: 'report', init: PUT_CUSTOM,
    expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader',
    check: ({ upstream, lines, proxy }) => {
      assert.deepEqual(upstream.map((r) => r.method), ['OPTIONS']);
      if (proxy === 'nginx') assert.match(lines[0].line, / cors=allowed$/);
    } },
  // --- error responses --------------------------------------------------------
  { name: 'errors: upstream 404 readable by an allowed origin', from: APP, policy: 'exact', rest: 'status/404', expect: 'allowed',
    check: ({ res }) => { assert.equal(res.status, 404); assert.equal(json(res).status, 404); assert.equal(res.headers['x-exposed'], 'yes'); } },
  { name: 'errors: upstream 500 readable by an allowed origin', from: APP, policy: 'exact', rest: 'status/500', expect: 'allowed',
    check: ({ res }) => { assert.equal(res.status, 500); assert.equal(json(res).status, 500); } },
  { name: 'errors: upstream 500 not readable by a denied origin', from: 'evil.test', policy: 'exact', rest: 'status/500',
    expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: "errors: the proxy's own 5xx (dead upstream) readable by an allowed origin", from: APP, policy: 'exact', rest: 'dead/x',
    expect: 'allowed', check: ({ res, proxy }) => assert.equal(res.status, proxy === 'nginx' ? 502 : 503) },
  { name: 'errors: preflight answered although the upstream is dead, then the 5xx is readable', from: APP, policy: 'exact',
    rest: 'dead/x', init: PUT_CUSTOM, expect: 'allowed',
    check: ({ res, lines }) => { assert.ok(res.status >= 500); assert.deepEqual(methods(lines), ['OPTIONS', 'PUT']); } },
  // --- an upstream that sets its own CORS headers ------------------------------
  { name: 'upstream ACAO *: stripped, denied origin blocked', from: 'evil.test', policy: 'exact', rest: 'acao-star',
    expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'upstream ACAO *: allowed origin reads it (no duplicate ACAO)', from: APP, policy: 'exact', rest: 'acao-star',
    expect: 'allowed' },
  { name: "upstream ACAO *: the upstream's Expose-Headers is dropped", from: APP, policy: 'exact', rest: 'acao-star',
    expect: 'allowed', check: ({ res }) => { assert.equal(res.headers['x-hidden'], null); assert.equal(res.headers['x-exposed'], 'yes'); } },
  { name: 'upstream ACAO *: credentialed request works (origin replaces *)', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', rest: 'acao-star', init: { credentials: 'include' }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).cookie, 'sid=s3cret') },
  { name: "upstream ACAO * under a '*' policy: still exactly one ACAO", from: 'evil.test', policy: 'any', rest: 'acao-star',
    expect: 'allowed' },
  // --- deny modes ---------------------------------------------------------------
  { name: 'deny omit: simple POST from a denied origin reaches the upstream, read blocked', from: 'evil.test', policy: 'exact',
    init: { method: 'POST', body: 'side effect' }, expect: 'blocked', corsError: 'MissingAllowOriginHeader',
    check: ({ upstream }) => assert.deepEqual(upstream.map((r) => r.method), ['POST']) },
  { name: 'deny reject: simple POST from a denied origin stopped before the upstream', from: 'evil.test', policy: 'reject',
    init: { method: 'POST', body: 'side effect' }, expect: 'blocked', corsError: 'MissingAllowOriginHeader',
    check: ({ upstream, lines }) => { assert.equal(upstream.length, 0); assert.equal(lines[0].status, 403); } },
  { name: 'deny reject: allowed origin unaffected', from: APP, policy: 'reject', init: { method: 'POST', body: 'ok' }, expect: 'allowed',
    check: ({ res }) => assert.equal(json(res).body, 'ok') },
  { name: 'preflight deny forward: the upstream answers, browser blocks', from: 'evil.test', policy: 'forward',
    init: { method: 'PUT' }, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader',
    check: ({ upstream }) => assert.deepEqual(upstream.map((r) => r.method), ['OPTIONS']) },
];

async function runCase(proxy, c) {
  const host = Array.isArray(c.from) ? c.from[0] : c.from;
  const origin = env.origin(host, Array.isArray(c.from) && c.from[1] === 'P2' ? env.P2 : env.P);
  const id = env.newId(proxy);
  const url = env.url(proxy, c.policy, c.rest ?? 'data', id, c.apiHost);
  const context = await env.browser.newContext();
  try {
    if (c.cookie) {
      await context.addCookies([{ name: 'sid', value: 's3cret', url: `http://${c.apiHost}:${env.port(proxy)}/` }]);
    }
    const { page, net } = await openPage(context, origin);
    const res = await doFetch(page, url, c.init ?? {});
    const { fails } = await checkVerdict(env, proxy, id, net, url, res, c);
    if (c.status403) {
      // corsgate refused the preflight itself (Chromium names the missing
      // Allow-Origin, which it checks before the status).
      const lines = await env.settledLog(proxy, id);
      assert.deepEqual(lines.map((l) => [l.method, l.status]), [['OPTIONS', 403]]);
    }
    if (c.check) {
      // The upstream's view, once the proxy has logged the final request.
      await c.check({ res, lines: await env.settledLog(proxy, id), upstream: env.upstream.seen(id), fails, proxy, net });
    }
  } finally {
    await context.close();
  }
}

// Preflight cache: two identical preflighted fetches in one context.
async function preflightCount(proxy, policy, { gapMs = 0, contexts = 1 } = {}) {
  const id = env.newId(proxy);
  const url = env.url(proxy, policy, 'data', id);
  const ctxs = [];
  try {
    for (let i = 0; i < 2; i++) {
      if (i === 0 || contexts === 2) ctxs.push(await env.browser.newContext());
      const ctx = ctxs[ctxs.length - 1];
      const { page, net } = await openPage(ctx, env.origin(APP));
      const res = await doFetch(page, url, PUT_CUSTOM);
      await checkVerdict(env, proxy, id, net, url, res, { expect: 'allowed' });
      if (i === 0 && gapMs) await sleep(gapMs);
    }
    const lines = await env.waitLog(proxy, id, (l) => l.filter((x) => x.method === 'PUT').length >= 2);
    assert.equal(lines.filter((x) => x.method === 'PUT').length, 2, JSON.stringify(lines));
    return lines.filter((x) => x.method === 'OPTIONS').length;
  } finally {
    for (const c of ctxs) await c.close();
  }
}

const CACHE_CASES = [
  { name: 'preflight cache: max_age 600, second fetch sends no preflight',
    run: async (proxy) => assert.equal(await preflightCount(proxy, 'cache600'), 1) },
  { name: 'preflight cache: max_age 0, every fetch preflights',
    run: async (proxy) => assert.equal(await preflightCount(proxy, 'cache0'), 2) },
  { name: 'preflight cache: max_age 1 expires after 1.5 s',
    run: async (proxy) => assert.equal(await preflightCount(proxy, 'cache1', { gapMs: 1500 }), 2) },
  { name: 'preflight cache: no max_age, browser default (5 s) caches back-to-back fetches',
    run: async (proxy) => assert.equal(await preflightCount(proxy, 'exact'), 1) },
  { name: 'preflight cache: a fresh context does not share the cache',
    run: async (proxy) => assert.equal(await preflightCount(proxy, 'cache600', { contexts: 2 }), 2) },
];

before(async () => { await env.start(); });
after(async () => { await env.stop(); });

for (const proxy of PROXIES) {
  describe(proxy, () => {
    for (const c of CASES) test(c.name, () => runCase(proxy, c));
    for (const c of CACHE_CASES) test(c.name, () => c.run(proxy));
  });
}
