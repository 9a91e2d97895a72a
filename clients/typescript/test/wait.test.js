// waitForRender: exponential back-off timing, final states, transient
// errors, timeouts and aborts, against a scripted fake fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HydraClient, HydraError, RenderFailedError } from '../dist/index.js';
import { fakeFetch, jsonResponse, status } from './helpers.js';

const BASE = 'http://api.test';

function client(fetch, extra = {}) {
  return new HydraClient({ baseUrl: BASE, fetch, ...extra });
}

test('back-off: first poll at once, then intervals grow by the factor up to the ceiling', async () => {
  // 6 polls "processing", then "completed".
  const f = fakeFetch((_, i) => jsonResponse(status('j1', i < 6 ? 'processing' : 'completed')));
  const t0 = performance.now();
  const st = await client(f).waitForRender('j1', { intervalMs: 40, maxIntervalMs: 160, backoffFactor: 2 });
  assert.equal(st.status, 'completed');
  assert.equal(f.calls.length, 7);
  assert.ok(f.calls[0].at - t0 < 30, 'first poll is immediate');
  const gaps = f.calls.slice(1).map((c, i) => c.at - f.calls[i].at);
  const want = [40, 80, 160, 160, 160, 160];
  for (let i = 0; i < want.length; i++) {
    // timers never fire early (1 ms rounding); late by scheduling noise only
    assert.ok(gaps[i] >= want[i] - 2, `gap ${i} = ${gaps[i].toFixed(1)} ms, want >= ${want[i]}`);
    assert.ok(gaps[i] < want[i] + 120, `gap ${i} = ${gaps[i].toFixed(1)} ms, want about ${want[i]} (capped)`);
  }
  for (const c of f.calls) assert.equal(c.url, `${BASE}/render/status?job_id=j1`);
});

test('default back-off factor is 1.5', async () => {
  const f = fakeFetch((_, i) => jsonResponse(status('j', i < 3 ? 'queued' : 'completed')));
  await client(f).waitForRender('j', { intervalMs: 60, maxIntervalMs: 1000 });
  const gaps = f.calls.slice(1).map((c, i) => c.at - f.calls[i].at);
  assert.ok(gaps[0] >= 58 && gaps[0] < 150, `gap 0 ${gaps[0]}`);
  assert.ok(gaps[1] >= 88 && gaps[1] < 180, `gap 1 ${gaps[1]}`);
  assert.ok(gaps[2] >= 133 && gaps[2] < 230, `gap 2 ${gaps[2]}`);
});

test('onProgress sees every poll including the final one', async () => {
  const seq = ['queued', 'processing', 'processing', 'completed'];
  const f = fakeFetch((_, i) => jsonResponse(status('j', seq[i], { progress: i * 30 })));
  const seen = [];
  await client(f).waitForRender('j', { intervalMs: 1, onProgress: (s) => seen.push([s.status, s.progress]) });
  assert.deepEqual(seen, [
    ['queued', 0],
    ['processing', 30],
    ['processing', 60],
    ['completed', 90],
  ]);
});

test('failed rejects with RenderFailedError carrying the final status and its error', async () => {
  const err = { code: 'EMEDIA', message: 'images[0].url: not an image' };
  const f = fakeFetch((_, i) => jsonResponse(status('j', i < 1 ? 'processing' : 'failed', { error: err })));
  await assert.rejects(client(f).waitForRender('j', { intervalMs: 1 }), (e) => {
    assert.ok(e instanceof RenderFailedError);
    assert.ok(e instanceof HydraError);
    assert.equal(e.code, 'EMEDIA');
    assert.equal(e.message, err.message);
    assert.equal(e.status, 0);
    assert.equal(e.job.status, 'failed');
    return true;
  });
});

test('canceled rejects with RenderFailedError code "canceled"', async () => {
  const f = fakeFetch(() => jsonResponse(status('j', 'canceled')));
  await assert.rejects(client(f).waitForRender('j'), (e) => e instanceof RenderFailedError && e.code === 'canceled' && e.job.status === 'canceled');
  assert.equal(f.calls.length, 1);
});

test('transient errors (network, 503 with Retry-After, 502) are retried; the wait goes on', async () => {
  const f = fakeFetch((_, i) => {
    if (i === 0) throw new TypeError('fetch failed');
    if (i === 1) return jsonResponse({ error: { code: 'EBUSY', message: 'busy' } }, { status: 503, headers: { 'Retry-After': '0' } });
    if (i === 2) return new Response('<html>bad gateway</html>', { status: 502 });
    return jsonResponse(status('j', 'completed'));
  });
  const st = await client(f).waitForRender('j', { intervalMs: 5 });
  assert.equal(st.status, 'completed');
  assert.equal(f.calls.length, 4);
});

test('Retry-After lengthens the wait (bounded by maxIntervalMs)', async () => {
  const f = fakeFetch((_, i) =>
    i === 0 ? jsonResponse({ error: { code: 'ERATE', message: 'slow down' } }, { status: 429, headers: { 'Retry-After': '1' } }) : jsonResponse(status('j', 'completed')),
  );
  await client(f).waitForRender('j', { intervalMs: 10, maxIntervalMs: 200 });
  const gap = f.calls[1].at - f.calls[0].at;
  assert.ok(gap >= 198 && gap < 400, `gap ${gap}`);
});

test('a 404 rejects at once with HydraError status 404 and the server code', async () => {
  const f = fakeFetch(() => jsonResponse({ error: { code: 'ENOTFOUND', message: 'job nope: not found' } }, { status: 404 }));
  await assert.rejects(client(f).waitForRender('nope', { intervalMs: 1 }), (e) => {
    assert.ok(e instanceof HydraError && !(e instanceof RenderFailedError));
    assert.equal(e.status, 404);
    assert.equal(e.code, 'ENOTFOUND');
    return true;
  });
  assert.equal(f.calls.length, 1);
});

test('timeoutMs rejects with code "timeout" and the last status as body', async () => {
  const f = fakeFetch(() => jsonResponse(status('j', 'processing', { progress: 42 })));
  const t0 = performance.now();
  await assert.rejects(client(f).waitForRender('j', { intervalMs: 20, timeoutMs: 150 }), (e) => {
    assert.ok(e instanceof HydraError);
    assert.equal(e.code, 'timeout');
    assert.equal(e.body.progress, 42);
    return true;
  });
  const took = performance.now() - t0;
  assert.ok(took >= 148 && took < 500, `took ${took}`);
});

test('timeoutMs also bounds a poll that hangs', async () => {
  const f = (url, init) => new Promise((_, rej) => init.signal.addEventListener('abort', () => rej(new Error('aborted'))));
  const t0 = performance.now();
  await assert.rejects(client(f).waitForRender('j', { timeoutMs: 100 }), (e) => e instanceof HydraError && e.code === 'timeout');
  assert.ok(performance.now() - t0 < 600);
});

test('an abort through the signal rejects with its reason, during a sleep or a request', async () => {
  const f = fakeFetch(() => jsonResponse(status('j', 'processing')));
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('user gave up')), 50);
  await assert.rejects(client(f).waitForRender('j', { intervalMs: 1000, signal: ac.signal }), /user gave up/);

  const hang = (url, init) => new Promise((_, rej) => init.signal.addEventListener('abort', () => rej(init.signal.reason)));
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 30);
  await assert.rejects(client(hang).waitForRender('j', { signal: ac2.signal }), (e) => e.name === 'AbortError');
});

test('renderAndWait submits then polls', async () => {
  const f = fakeFetch((call, i) =>
    call.method === 'POST' ? jsonResponse(status('r1', 'queued'), { status: 202 }) : jsonResponse(status('r1', i < 2 ? 'processing' : 'completed')),
  );
  const st = await client(f).renderAndWait({ images: ['https://x/a.jpg'] }, { intervalMs: 1 });
  assert.equal(st.status, 'completed');
  assert.deepEqual(
    f.calls.map((c) => c.method),
    ['POST', 'GET', 'GET'],
  );
});
