// corsgate in a real browser, beyond fetch() (issue 8): XMLHttpRequest,
// web fonts, <img crossorigin> on a 2D canvas and in WebGL, CSS
// shape-outside, and <video crossorigin>, each against nginx + the module
// and Envoy + the filter, in a fresh browser context per case. The upstream
// serves files the suite makes at start: a PNG (Node's zlib), a font (the
// smallest .ttf/.otf/.woff on the system, e.g. Debian's fonts-dejavu-core)
// and a WebM clip that Chromium itself records (MediaRecorder on a canvas).
// Run: scripts/browser-tests (or `node --test` here).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Env, PROXIES, checkVerdict, openPage } from './harness.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const APP = 'app.example.test';

function policies(P) {
  const app = `http://${APP}:${P}`;
  return {
    res: {
      allow_origins: [app],
      allow_methods: ['GET', 'PUT'],
      allow_headers: ['x-custom-header'],
      expose_headers: ['x-exposed'],
    },
    any: { allow_origins: ['*'], expose_headers: ['x-exposed'] },
    creds: {
      allow_origins: [`http://localhost:${P}`],
      allow_methods: ['GET', 'PUT'],
      allow_headers: ['x-custom-header'],
      expose_headers: ['x-exposed'],
      allow_credentials: true,
    },
  };
}

// --- files the upstream serves ----------------------------------------------

// 64x64 RGBA: columns 0-15 opaque red, the rest fully transparent.
function makePng() {
  const W = 64;
  const H = 64;
  const raw = Buffer.alloc((W * 4 + 1) * H);
  for (let y = 0; y < H; y++) {
    const row = y * (W * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < 16; x++) raw.set([255, 0, 0, 255], row + 1 + x * 4);
  }
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// The smallest font file under /usr/share/fonts, or null.
function findFont() {
  const types = { '.ttf': 'font/ttf', '.otf': 'font/otf', '.woff': 'font/woff', '.woff2': 'font/woff2' };
  const found = [];
  const walk = (dir) => {
    let entries;
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (types[path.extname(e.name).toLowerCase()]) found.push({ p, size: fs.statSync(p).size });
    }
  };
  walk('/usr/share/fonts');
  if (!found.length) return null;
  found.sort((a, b) => a.size - b.size);
  const f = found[0];
  return { path: f.p, type: types[path.extname(f.p).toLowerCase()], body: fs.readFileSync(f.p) };
}

const files = { 'img.png': { type: 'image/png', body: makePng() } };
const font = findFont();
if (font) files['font'] = { type: font.type, body: font.body };
let videoSkip = null; // why the video cases are skipped, if they are

const env = new Env({ policies, files });

// Chromium records a ~0.6 s WebM of a red canvas; the upstream serves it.
async function makeVideo() {
  const context = await env.browser.newContext();
  try {
    const { page } = await openPage(context, env.origin(APP));
    const out = await page.evaluate(async () => {
      const type = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm']
        .find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t));
      if (!type) return { error: 'MediaRecorder cannot record WebM here' };
      const c = document.createElement('canvas');
      c.width = 64; c.height = 64;
      const g = c.getContext('2d');
      const paint = () => { g.fillStyle = 'rgb(255,0,0)'; g.fillRect(0, 0, 64, 64); };
      paint();
      const stream = c.captureStream(30);
      const rec = new MediaRecorder(stream, { mimeType: type });
      const chunks = [];
      rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
      const stopped = new Promise((r) => { rec.onstop = r; });
      rec.start();
      const timer = setInterval(paint, 30);
      await new Promise((r) => setTimeout(r, 600));
      rec.stop();
      await stopped;
      clearInterval(timer);
      const buf = new Uint8Array(await new Blob(chunks, { type }).arrayBuffer());
      let bin = '';
      for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
      return { type, b64: btoa(bin) };
    });
    if (out.error) return out.error;
    const body = Buffer.from(out.b64, 'base64');
    if (body.length < 100) return `recorded clip too small (${body.length} bytes)`;
    files['clip.webm'] = { type: 'video/webm', body };
    // Can this Chromium decode it? Play it same-origin-free: from a blob.
    const playable = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const v = document.createElement('video');
      v.muted = true;
      v.src = URL.createObjectURL(new Blob([bytes], { type: 'video/webm' }));
      return new Promise((resolve) => {
        v.onloadeddata = () => resolve(true);
        v.onerror = () => resolve(false);
        setTimeout(() => resolve(false), 5000);
      });
    }, out.b64);
    return playable ? null : 'Chromium cannot decode the clip it recorded';
  } catch (e) {
    return `recording failed: ${e}`;
  } finally {
    await context.close();
  }
}

// --- page functions (run in the page) --------------------------------------------

async function xhrInPage({ url, method, headers, withCredentials, body }) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open(method || 'GET', url);
    x.withCredentials = !!withCredentials;
    for (const [k, v] of Object.entries(headers || {})) x.setRequestHeader(k, v);
    x.onload = () => resolve({
      status: x.status, text: x.responseText,
      exposed: x.getResponseHeader('x-exposed'), hidden: x.getResponseHeader('x-hidden'),
      all: x.getAllResponseHeaders(),
    });
    x.onerror = () => resolve({ error: `xhr error (status ${x.status})` });
    x.send(body ?? null);
  });
}

async function fontFaceInPage({ url }) {
  const family = `CgFace${Math.random().toString(36).slice(2)}`;
  const f = new FontFace(family, `url("${url}")`);
  try {
    await f.load();
    document.fonts.add(f);
    return { status: f.status, check: document.fonts.check(`16px ${family}`) };
  } catch (e) {
    return { error: `${e.name}: ${e.message}`, status: f.status };
  }
}

async function fontCssInPage({ url }) {
  const family = `CgCss${Math.random().toString(36).slice(2)}`;
  const style = document.createElement('style');
  style.textContent = `@font-face { font-family: "${family}"; src: url("${url}"); }`;
  document.head.appendChild(style);
  let loaded;
  try {
    loaded = await document.fonts.load(`16px "${family}"`);
  } catch (e) {
    return { error: `document.fonts.load rejected: ${e.name}` };
  }
  const face = [...document.fonts].find((f) => f.family.replace(/"/g, '') === family);
  if (!face || face.status !== 'loaded' || loaded.length === 0) {
    return { error: `font not loaded (status ${face && face.status}, ${loaded.length} faces)` };
  }
  return { status: face.status, faces: loaded.length };
}

async function canvasInPage({ url, crossOrigin }) {
  const img = await new Promise((resolve) => {
    const i = new Image();
    if (crossOrigin !== null) i.crossOrigin = crossOrigin;
    i.onload = () => resolve(i);
    i.onerror = () => resolve(null);
    i.src = url;
  });
  if (!img) return { error: 'img error event' };
  const c = document.createElement('canvas');
  c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  try {
    const red = Array.from(g.getImageData(4, 4, 1, 1).data);
    const clear = Array.from(g.getImageData(40, 4, 1, 1).data);
    return { loaded: true, red, clear };
  } catch (e) {
    return { loaded: true, taint: e.name };
  }
}

async function webglInPage({ url, crossOrigin }) {
  const img = await new Promise((resolve) => {
    const i = new Image();
    if (crossOrigin !== null) i.crossOrigin = crossOrigin;
    i.onload = () => resolve(i);
    i.onerror = () => resolve(null);
    i.src = url;
  });
  if (!img) return { error: 'img error event' };
  const c = document.createElement('canvas');
  const gl = c.getContext('webgl');
  if (!gl) return { noWebGL: true };
  const tex = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, tex);
  try {
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, img);
  } catch (e) {
    return { loaded: true, taint: e.name };
  }
  const fb = gl.createFramebuffer();
  gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
  const px = new Uint8Array(4);
  gl.readPixels(2, 2, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
  return { loaded: true, pixel: Array.from(px), glError: gl.getError() };
}

// shape-outside: a 200x200 float whose shape is the 64x64 PNG, drawn at its
// own size (opaque on its 16 left columns). With the shape, the text next to
// it starts 16 px in; without (shape ignored), after the float: 200 px.
function shapeSetupInPage({ url }) {
  document.body.style.margin = '0';
  const box = document.createElement('div');
  box.style.cssText = 'width: 400px; font: 10px/10px monospace;';
  const fl = document.createElement('div');
  fl.style.cssText = `float: left; width: 200px; height: 200px; shape-outside: url("${url}");`;
  const span = document.createElement('span');
  span.id = 'after';
  span.textContent = 'x';
  box.append(fl, span);
  document.body.append(box);
}

async function shapeMeasureInPage() {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return document.getElementById('after').getBoundingClientRect().left;
}

async function videoInPage({ url, crossOrigin }) {
  const v = document.createElement('video');
  v.muted = true;
  v.preload = 'auto';
  if (crossOrigin !== null) v.crossOrigin = crossOrigin;
  const ok = await new Promise((resolve) => {
    v.onloadeddata = () => resolve(true);
    v.onerror = () => resolve(false);
    setTimeout(() => resolve(false), 8000);
    v.src = url;
    document.body.append(v);
  });
  if (!ok) return { error: `video error (${v.error ? v.error.code : 'timeout'})` };
  const c = document.createElement('canvas');
  c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 64, 64);
  try {
    return { loaded: true, pixel: Array.from(g.getImageData(32, 32, 1, 1).data) };
  } catch (e) {
    return { loaded: true, taint: e.name };
  }
}

// --- running a case ------------------------------------------------------------

const RED = [255, 0, 0, 255];

// c: {name, from, policy, file, fn, args, expect: allowed | blocked | tainted,
//     apiHost, cookie, corsError, check, skip: () => reason | null}
async function runCase(t, proxy, c) {
  const skip = c.skip && c.skip();
  if (skip) { t.skip(skip); return; }
  const id = env.newId(proxy);
  const url = env.url(proxy, c.policy, c.file ? `file/${c.file}` : 'data', id, c.apiHost);
  const context = await env.browser.newContext();
  try {
    if (c.cookie) {
      await context.addCookies([{ name: 'sid', value: 's3cret', url: `http://${c.apiHost}:${env.port(proxy)}/` }]);
    }
    const { page, net } = await openPage(context, env.origin(c.from));
    const res = await page.evaluate(c.fn, { url, crossOrigin: null, ...c.args });
    if (res && res.noWebGL) { t.skip('this Chromium has no WebGL context (headless, --disable-gpu)'); return; }
    let lines;
    if (c.expect === 'tainted') {
      // A no-cors load: the response arrives, no CORS check, no Origin sent;
      // the page is refused the pixels.
      lines = await env.settledLog(proxy, id);
      assert.ok(lines.length > 0, `the request never reached ${proxy}`);
      assert.ok(lines.every((l) => l.origin === ''), `a no-cors load sent an Origin: ${JSON.stringify(lines)}`);
      assert.equal(net.failed.filter((f) => f.url === url && f.corsError).length, 0);
      assert.equal(res.taint, 'SecurityError', JSON.stringify(res));
    } else {
      await checkVerdict(env, proxy, id, net, url, res, c);
      lines = await env.settledLog(proxy, id);
      assert.ok(lines.every((l) => l.origin === env.origin(c.from)), `expected Origin ${env.origin(c.from)}: ${JSON.stringify(lines)}`);
    }
    if (c.check) await c.check({ res, lines, upstream: env.upstream.seen(id), proxy });
  } finally {
    await context.close();
  }
}

async function runShape(proxy, from, expectAllowed) {
  const id = env.newId(proxy);
  const url = env.url(proxy, 'res', 'file/img.png', id);
  const context = await env.browser.newContext();
  try {
    const { page, net } = await openPage(context, env.origin(from));
    await page.evaluate(shapeSetupInPage, { url });
    // Wait until Chromium finished or failed the shape image.
    const deadline = Date.now() + 5000;
    while (!net.finished.some((f) => f.url === url) && !net.failed.some((f) => f.url === url)) {
      assert.ok(Date.now() < deadline, 'shape image neither loaded nor failed in 5 s');
      await sleep(20);
    }
    let left = await page.evaluate(shapeMeasureInPage);
    if (expectAllowed) {
      // layout may trail the network by a frame or two
      for (let i = 0; i < 20 && left > 40; i++) { await sleep(50); left = await page.evaluate(shapeMeasureInPage); }
    }
    const res = expectAllowed ? { ok: true, left } : { error: 'shape ignored', left };
    await checkVerdict(env, proxy, id, net, url, res, { expect: expectAllowed ? 'allowed' : 'blocked', corsError: 'MissingAllowOriginHeader' });
    if (expectAllowed) assert.ok(left >= 14 && left <= 40, `text should wrap the shape (left ${left}px, expected 16)`);
    else assert.ok(left >= 199, `the shape must be ignored (left ${left}px, expected 200)`);
  } finally {
    await context.close();
  }
}

const noFont = () => (font ? null : 'no .ttf/.otf/.woff under /usr/share/fonts (install fonts-dejavu-core)');
const noVideo = () => videoSkip;

const CASES = [
  // --- XMLHttpRequest ---------------------------------------------------------
  { name: 'XHR: simple GET from an allowed origin', from: APP, policy: 'res', fn: xhrInPage, expect: 'allowed',
    check: ({ res }) => { assert.equal(res.status, 200); assert.equal(JSON.parse(res.text).method, 'GET'); assert.equal(res.exposed, 'yes'); assert.equal(res.hidden, null); assert.doesNotMatch(res.all, /x-hidden/i); } },
  { name: 'XHR: simple GET from a denied origin', from: 'evil.test', policy: 'res', fn: xhrInPage, expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'XHR: preflighted PUT with a custom header allowed', from: APP, policy: 'res', fn: xhrInPage,
    args: { method: 'PUT', headers: { 'X-Custom-Header': 'xhr' }, body: 'b' }, expect: 'allowed',
    check: ({ res, lines }) => { assert.equal(JSON.parse(res.text).custom, 'xhr'); assert.deepEqual(lines.map((l) => l.method), ['OPTIONS', 'PUT']); } },
  { name: 'XHR: preflighted PUT from a denied origin', from: 'evil.test', policy: 'res', fn: xhrInPage,
    args: { method: 'PUT', headers: { 'X-Custom-Header': 'xhr' } }, expect: 'blocked', corsError: 'PreflightMissingAllowOriginHeader',
    check: ({ upstream }) => assert.equal(upstream.length, 0) },
  { name: 'XHR: withCredentials, exact origin + credentials policy', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', fn: xhrInPage, args: { withCredentials: true }, expect: 'allowed',
    check: ({ res }) => assert.equal(JSON.parse(res.text).cookie, 'sid=s3cret') },
  { name: 'XHR: withCredentials preflighted PUT', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', fn: xhrInPage, args: { method: 'PUT', headers: { 'x-custom-header': '1' }, withCredentials: true }, expect: 'allowed',
    check: ({ res }) => assert.equal(JSON.parse(res.text).cookie, 'sid=s3cret') },
  { name: 'XHR: without withCredentials no cookie is sent', from: 'localhost', apiHost: 'localhost', cookie: true,
    policy: 'creds', fn: xhrInPage, expect: 'allowed',
    check: ({ res }) => assert.equal(JSON.parse(res.text).cookie, null) },
  { name: 'XHR: withCredentials against * is blocked', from: 'evil.test', policy: 'any', fn: xhrInPage,
    args: { withCredentials: true }, expect: 'blocked', corsError: 'WildcardOriginNotAllowed' },
  { name: 'XHR: * without credentials allowed', from: 'evil.test', policy: 'any', fn: xhrInPage, expect: 'allowed',
    check: ({ res }) => assert.equal(res.exposed, 'yes') },
  // --- web fonts ----------------------------------------------------------------
  { name: 'font: FontFace.load from an allowed origin', from: APP, policy: 'res', file: 'font', fn: fontFaceInPage, expect: 'allowed', skip: noFont,
    check: ({ res }) => { assert.equal(res.status, 'loaded'); assert.equal(res.check, true); } },
  { name: 'font: FontFace.load from a denied origin fails', from: 'evil.test', policy: 'res', file: 'font', fn: fontFaceInPage, expect: 'blocked',
    corsError: 'MissingAllowOriginHeader', skip: noFont, check: ({ res }) => assert.equal(res.status, 'error') },
  { name: 'font: @font-face + document.fonts.load from an allowed origin', from: APP, policy: 'res', file: 'font', fn: fontCssInPage, expect: 'allowed', skip: noFont },
  { name: 'font: @font-face from a denied origin fails', from: 'evil.test', policy: 'res', file: 'font', fn: fontCssInPage, expect: 'blocked',
    corsError: 'MissingAllowOriginHeader', skip: noFont },
  // --- <img crossorigin> on a 2D canvas ----------------------------------------------
  { name: 'img crossorigin: allowed, getImageData reads the pixels', from: APP, policy: 'res', file: 'img.png', fn: canvasInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'allowed',
    check: ({ res }) => { assert.deepEqual(res.red, RED); assert.deepEqual(res.clear, [0, 0, 0, 0]); } },
  { name: 'img crossorigin: denied origin, the image does not load', from: 'evil.test', policy: 'res', file: 'img.png', fn: canvasInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'img without crossorigin: canvas tainted, getImageData SecurityError', from: 'evil.test', policy: 'res', file: 'img.png', fn: canvasInPage,
    expect: 'tainted' },
  { name: 'img crossorigin=use-credentials: credentials policy allowed', from: 'localhost', apiHost: 'localhost', cookie: true, policy: 'creds',
    file: 'img.png', fn: canvasInPage, args: { crossOrigin: 'use-credentials' }, expect: 'allowed',
    check: ({ res, upstream }) => { assert.deepEqual(res.red, RED); assert.equal(upstream[0].headers.cookie, 'sid=s3cret'); } },
  { name: 'img crossorigin=use-credentials against * blocked', from: 'evil.test', policy: 'any', file: 'img.png', fn: canvasInPage,
    args: { crossOrigin: 'use-credentials' }, expect: 'blocked', corsError: 'WildcardOriginNotAllowed' },
  { name: 'img crossorigin against *: allowed', from: 'evil.test', policy: 'any', file: 'img.png', fn: canvasInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'allowed', check: ({ res }) => assert.deepEqual(res.red, RED) },
  // --- WebGL -------------------------------------------------------------------------
  { name: 'WebGL: texImage2D from an allowed cross-origin image', from: APP, policy: 'res', file: 'img.png', fn: webglInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'allowed',
    check: ({ res }) => { assert.deepEqual(res.pixel, RED); assert.equal(res.glError, 0); } },
  { name: 'WebGL: crossorigin image from a denied origin does not load', from: 'evil.test', policy: 'res', file: 'img.png', fn: webglInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'blocked', corsError: 'MissingAllowOriginHeader' },
  { name: 'WebGL: texImage2D from a no-cors image throws SecurityError', from: 'evil.test', policy: 'res', file: 'img.png', fn: webglInPage,
    expect: 'tainted' },
  // --- <video crossorigin> --------------------------------------------------------------
  { name: 'video crossorigin: allowed, drawn to canvas and read', from: APP, policy: 'res', file: 'clip.webm', fn: videoInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'allowed', skip: noVideo,
    check: ({ res }) => { assert.ok(res.pixel[0] > 200 && res.pixel[1] < 60 && res.pixel[2] < 60, `red expected: ${res.pixel}`); } },
  { name: 'video crossorigin: denied origin, the video does not load', from: 'evil.test', policy: 'res', file: 'clip.webm', fn: videoInPage,
    args: { crossOrigin: 'anonymous' }, expect: 'blocked', corsError: 'MissingAllowOriginHeader', skip: noVideo },
  { name: 'video without crossorigin: canvas tainted', from: 'evil.test', policy: 'res', file: 'clip.webm', fn: videoInPage,
    expect: 'tainted', skip: noVideo },
];

before(async () => {
  await env.start();
  videoSkip = await makeVideo();
  if (videoSkip) console.log(`# video cases skipped: ${videoSkip}`);
  if (!font) console.log('# font cases skipped: no font file under /usr/share/fonts');
});
after(async () => { await env.stop(); });

for (const proxy of PROXIES) {
  describe(proxy, () => {
    for (const c of CASES) test(c.name, (t) => runCase(t, proxy, c));
    test('CSS shape-outside: allowed image shapes the float', () => runShape(proxy, APP, true));
    test('CSS shape-outside: denied image is ignored', () => runShape(proxy, 'evil.test', false));
  });
}
