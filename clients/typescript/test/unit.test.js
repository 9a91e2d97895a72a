// HydraClient against a fake fetch: URLs, methods, headers, bodies, error
// mapping, timeouts, list shapes, and the seed guide's standalone functions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../dist/index.js';
import { HydraClient, HydraError, normalizeStatus } from '../dist/index.js';
import { fakeFetch, hangingFetch, jsonResponse, status } from './helpers.js';

const BASE = 'http://api.test/prod/';

test('submitRenderJob: POST /render with the JSON body; 202 and 200 both resolve with the status', async () => {
  const req = {
    job_id: 'test-001',
    images: [{ url: 'https://example.com/image1.jpg' }],
    settings: { vibe: 'Pop', aspect_ratio: '9:16', target_duration: 15 },
  };
  const f = fakeFetch((_, i) => jsonResponse(status('test-001', 'queued'), { status: i === 0 ? 202 : 200 }));
  const c = new HydraClient({ baseUrl: BASE, fetch: f });
  for (let i = 0; i < 2; i++) {
    const st = await c.submitRenderJob(req);
    assert.equal(st.job_id, 'test-001');
    assert.equal(st.status, 'queued');
  }
  const call = f.calls[0];
  assert.equal(call.url, 'http://api.test/prod/render', 'trailing slash of baseUrl dropped, path prefix kept');
  assert.equal(call.method, 'POST');
  assert.deepEqual(JSON.parse(call.init.body), req);
  assert.equal(call.init.headers['Content-Type'], 'application/json');
  assert.equal(call.init.headers['Accept'], 'application/json');
  assert.equal(call.init.headers['Authorization'], undefined);
});

test('apiKey is sent as a Bearer token; extra headers are merged', async () => {
  const f = fakeFetch(() => jsonResponse(status('a', 'queued')));
  const c = new HydraClient({ baseUrl: BASE, fetch: f, apiKey: 'k1', headers: { 'X-Trace': 't' } });
  await c.getRenderStatus('a');
  assert.equal(f.calls[0].init.headers['Authorization'], 'Bearer k1');
  assert.equal(f.calls[0].init.headers['X-Trace'], 't');
  assert.equal(f.calls[0].init.headers['Content-Type'], undefined, 'no body, no Content-Type');
});

test('ids are URL-encoded in every route', async () => {
  const f = fakeFetch((call) => (call.method === 'DELETE' ? jsonResponse(status('a b/c?', 'canceled')) : jsonResponse(status('a b/c?', 'queued'))));
  const c = new HydraClient({ baseUrl: BASE, fetch: f });
  await c.getRenderStatus('a b/c?');
  await c.cancelRenderJob('a b/c?');
  assert.equal(f.calls[0].url, 'http://api.test/prod/render/status?job_id=a%20b%2Fc%3F');
  assert.equal(f.calls[1].url, 'http://api.test/prod/render/a%20b%2Fc%3F');
  assert.equal(f.calls[1].method, 'DELETE');
});

test('cancelRenderJob with an empty 204 reads the status back', async () => {
  const f = fakeFetch((call) => (call.method === 'DELETE' ? new Response(null, { status: 204 }) : jsonResponse(status('x', 'canceled'))));
  const st = await new HydraClient({ baseUrl: BASE, fetch: f }).cancelRenderJob('x');
  assert.equal(st.status, 'canceled');
  assert.deepEqual(
    f.calls.map((c) => c.method),
    ['DELETE', 'GET'],
  );
});

test('server JSON errors become HydraError {status, code, message}', async () => {
  const f = fakeFetch(() =>
    jsonResponse({ error: { code: 'EINVAL', message: 'settings.vibe: must be one of Exciting, ... (got "Loud")' } }, { status: 400 }),
  );
  const c = new HydraClient({ baseUrl: BASE, fetch: f });
  await assert.rejects(c.submitRenderJob({ images: ['x'] }), (e) => {
    assert.ok(e instanceof HydraError);
    assert.equal(e.name, 'HydraError');
    assert.equal(e.status, 400);
    assert.equal(e.code, 'EINVAL');
    assert.match(e.message, /settings\.vibe/);
    assert.deepEqual(e.error, { code: 'EINVAL', message: e.message });
    return true;
  });
});

test('non-JSON and legacy error bodies still give a HydraError', async () => {
  const c1 = new HydraClient({ baseUrl: BASE, fetch: fakeFetch(() => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' })) });
  await assert.rejects(c1.getRenderStatus('a'), (e) => e.status === 502 && e.code === 'http_502' && /Bad Gateway/.test(e.message));
  const c2 = new HydraClient({ baseUrl: BASE, fetch: fakeFetch(() => jsonResponse({ error: 'Job not found' }, { status: 404 })) });
  await assert.rejects(c2.getRenderStatus('a'), (e) => e.status === 404 && e.code === 'http_404' && e.message === 'Job not found');
});

test('a 2xx that is not a status is bad_response', async () => {
  const c = new HydraClient({ baseUrl: BASE, fetch: fakeFetch(() => new Response('ok', { status: 200 })) });
  await assert.rejects(c.getRenderStatus('a'), (e) => e instanceof HydraError && e.code === 'bad_response');
  const c2 = new HydraClient({ baseUrl: BASE, fetch: fakeFetch(() => jsonResponse({ hello: 1 })) });
  await assert.rejects(c2.getRenderStatus('a'), (e) => e instanceof HydraError && e.code === 'bad_response');
});

test('network failures are HydraError network_error (status 0) with the cause', async () => {
  const cause = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
  const c = new HydraClient({ baseUrl: BASE, fetch: fakeFetch(() => Promise.reject(cause)) });
  await assert.rejects(c.getRenderStatus('a'), (e) => e.status === 0 && e.code === 'network_error' && /ECONNREFUSED/.test(e.message) && e.cause === cause);
});

test('timeoutMs: a request with no answer rejects with code timeout; per call override', async () => {
  const c = new HydraClient({ baseUrl: BASE, fetch: hangingFetch(), timeoutMs: 50 });
  const t0 = performance.now();
  await assert.rejects(c.getRenderStatus('a'), (e) => e instanceof HydraError && e.code === 'timeout' && e.status === 0);
  assert.ok(performance.now() - t0 < 500);
  await assert.rejects(c.getRenderStatus('a', { timeoutMs: 20 }), (e) => e.code === 'timeout');
});

test("the caller's signal aborts a request with the signal's reason (not a HydraError)", async () => {
  const c = new HydraClient({ baseUrl: BASE, fetch: hangingFetch() });
  const ac = new AbortController();
  const p = c.getRenderStatus('a', { signal: ac.signal });
  ac.abort(new Error('stop'));
  await assert.rejects(p, (e) => !(e instanceof HydraError) && e.message === 'stop');
  await assert.rejects(c.getRenderStatus('a', { signal: AbortSignal.abort() }), (e) => e.name === 'AbortError');
});

test('listJobs: query string, {jobs, next_cursor}, and iterateJobs follows cursors', async () => {
  const pages = {
    '': { jobs: [status('c', 'queued'), status('b', 'completed')], next_cursor: 'cur1' },
    cur1: { jobs: [status('a', 'failed')], next_cursor: '' },
  };
  const f = fakeFetch((call) => jsonResponse(pages[new URL(call.url).searchParams.get('cursor') ?? '']));
  const c = new HydraClient({ baseUrl: BASE, fetch: f });
  const page = await c.listJobs({ status: 'completed', limit: 2 });
  assert.equal(f.calls[0].url, 'http://api.test/prod/jobs?status=completed&limit=2');
  assert.deepEqual(
    page.jobs.map((j) => j.job_id),
    ['c', 'b'],
  );
  assert.equal(page.next_cursor, 'cur1');
  await c.listJobs({ status: ['failed', 'canceled'] });
  assert.equal(f.calls.at(-1).url, 'http://api.test/prod/jobs?status=failed%2Ccanceled');
  const all = [];
  for await (const j of c.iterateJobs({ limit: 2 })) all.push(j.job_id);
  assert.deepEqual(all, ['c', 'b', 'a']);
  assert.equal(f.calls.at(-1).url, 'http://api.test/prod/jobs?limit=2&cursor=cur1');
  // a bare array is accepted too
  const c2 = new HydraClient({ baseUrl: BASE, fetch: fakeFetch(() => jsonResponse([status('z', 'queued')])) });
  assert.deepEqual(await c2.listJobs(), { jobs: [normalizeStatus(status('z', 'queued'))], next_cursor: null });
  assert.equal((await c.listJobs()).next_cursor, 'cur1');
});

test('normalizeStatus fills absent fields and keeps unknown ones', () => {
  const st = normalizeStatus({ job_id: 'x', status: 'queued', extra: 1, current_step: '' });
  assert.equal(st.progress, 0);
  assert.equal(st.current_step, null);
  assert.equal(st.output_url, null);
  assert.deepEqual(st.warnings, []);
  assert.equal(st.extra, 1);
});

test('constructor rejects a missing or non-http baseUrl', () => {
  assert.throws(() => new HydraClient({ baseUrl: '' }), (e) => e instanceof HydraError && e.code === 'config_error');
  assert.throws(() => new HydraClient({ baseUrl: 'ftp://x' }), HydraError);
});

test("the seed guide's standalone functions: env NEXT_PUBLIC_AWS_COMPOSE_API, then configure()", async () => {
  const saved = { ...process.env };
  const realFetch = globalThis.fetch;
  try {
    delete process.env.NEXT_PUBLIC_HYDRA_COMPOSE_API;
    delete process.env.HYDRA_COMPOSE_API;
    delete process.env.NEXT_PUBLIC_AWS_COMPOSE_API;
    await assert.rejects(api.getRenderStatus('x'), (e) => e.code === 'config_error');

    const f = fakeFetch((call) => jsonResponse(status('test-001', call.method === 'POST' ? 'queued' : 'processing')));
    globalThis.fetch = f; // the standalone functions use the global fetch, as the guide did
    process.env.NEXT_PUBLIC_AWS_COMPOSE_API = 'https://abc.execute-api.ap-southeast-2.amazonaws.com';
    process.env.HYDRA_COMPOSE_API_KEY = 'server-side-key';
    const sub = await api.submitRenderJob({ job_id: 'test-001', images: [{ url: 'https://example.com/image1.jpg' }] });
    assert.equal(sub.status, 'queued');
    const st = await api.getRenderStatus('test-001');
    assert.equal(st.status, 'processing');
    assert.equal(f.calls[0].url, 'https://abc.execute-api.ap-southeast-2.amazonaws.com/render');
    assert.equal(f.calls[1].url, 'https://abc.execute-api.ap-southeast-2.amazonaws.com/render/status?job_id=test-001');
    assert.equal(f.calls[0].init.headers.Authorization, 'Bearer server-side-key');

    process.env.NEXT_PUBLIC_HYDRA_COMPOSE_API = 'http://127.0.0.9:1'; // takes precedence
    await api.getRenderStatus('test-001');
    assert.equal(f.calls[2].url, 'http://127.0.0.9:1/render/status?job_id=test-001');

    const f2 = fakeFetch(() => jsonResponse(status('y', 'completed')));
    api.configure({ baseUrl: 'http://configured.test', fetch: f2 });
    assert.equal((await api.waitForRender('y')).status, 'completed');
    assert.equal(f2.calls[0].url, 'http://configured.test/render/status?job_id=y');
    assert.equal(api.defaultClient().baseUrl, 'http://configured.test');
  } finally {
    globalThis.fetch = realFetch;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('FINAL_STATES and isFinalState', () => {
  assert.deepEqual([...api.FINAL_STATES], ['completed', 'failed', 'canceled']);
  assert.equal(api.isFinalState('processing'), false);
  assert.equal(api.isFinalState('canceled'), true);
});
