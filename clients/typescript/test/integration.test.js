// The client against a REAL `hydra-compose serve` whose base URL is in env
// HC_URL (tests/integration/test_client_ts.c starts one with
// --url-allow 127.0.0.1). Skipped, with a message, when HC_URL is unset.
//
// The test serves its own PNGs (made with node:zlib) and receives the
// completion callback on a node:http server on 127.0.0.1, so nothing leaves
// the machine. Optional env: HC_API_KEY (when the server has HC_API_KEYS).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { HydraClient, HydraError, RenderFailedError, verifyWebhookSignature } from '../dist/index.js';
import { makePng } from './helpers.js';

const HC_URL = process.env.HC_URL;
const SKIP = HC_URL ? false : 'HC_URL is not set: start `hydra-compose serve --url-allow 127.0.0.1` and set HC_URL to its URL';

const STATUS_FIELDS = [
  'job_id',
  'status',
  'progress',
  'current_step',
  'output_url',
  'poster_url',
  'error',
  'batch_job_id',
  'created_at',
  'started_at',
  'finished_at',
  'duration_s',
  'render_s',
  'encoder',
  'attempts',
  'metadata',
];
const EXTRA_FIELDS = ['encoder_reason', 'frames_done', 'frames_total', 'warnings'];

/** A fetch that remembers the HTTP status and headers of the last response. */
function recordingFetch() {
  const f = async (url, init) => {
    const res = await fetch(url, init);
    f.last = { status: res.status, headers: res.headers };
    return res;
  };
  f.last = null;
  return f;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('client against the real server', { skip: SKIP }, () => {
  const run = randomBytes(4).toString('hex');
  const secret = `cb-secret-${randomBytes(12).toString('hex')}`;
  const callbacks = []; // {headers, raw}
  let media; // the node:http server: images + callback receiver
  let mediaUrl;
  let client;
  let rf;
  let jobA; // the completed job (seed shape + callback)
  let jobB; // the canceled job

  before(async () => {
    const pngs = {
      '/a.png': makePng(320, 240, (x, y) => [x & 255, y & 255, 128]),
      '/b.png': makePng(320, 240, (x, y) => [255 - (x & 255), 64, y & 255]),
    };
    media = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/callback') {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          callbacks.push({ headers: req.headers, raw: Buffer.concat(chunks) });
          res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        });
        return;
      }
      const png = pngs[req.url];
      if (req.method === 'GET' && png) {
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': png.length }).end(png);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise((resolve) => media.listen(0, '127.0.0.1', resolve));
    mediaUrl = `http://127.0.0.1:${media.address().port}`;
    rf = recordingFetch();
    client = new HydraClient({ baseUrl: HC_URL, apiKey: process.env.HC_API_KEY, fetch: rf, timeoutMs: 20_000 });
  });

  after(async () => {
    await new Promise((resolve) => media?.close(resolve) ?? resolve());
  });

  // The seed guide's example shape (job_id, images[{url}], settings{vibe, aspect_ratio,
  // target_duration}), made tiny (2 s, 720p, draft) and with a callback and metadata.
  function seedRequest(jobId, extra = {}) {
    return {
      job_id: jobId,
      images: [{ url: `${mediaUrl}/a.png` }, { url: `${mediaUrl}/b.png` }],
      settings: { vibe: 'Pop', aspect_ratio: '9:16', target_duration: 2, resolution: '720p', quality: 'draft', seed: 7 },
      ...extra,
    };
  }

  test('GET /healthz answers', async () => {
    assert.ok(await client.health());
  });

  test('unknown id: 404 HydraError; no job_id: 400; every response has CORS', async () => {
    await assert.rejects(client.getRenderStatus(`no-such-job-${run}`), (e) => {
      assert.ok(e instanceof HydraError, String(e));
      assert.equal(e.status, 404);
      assert.ok(e.code && e.message, 'error has code and message');
      return true;
    });
    assert.equal(rf.last.headers.get('access-control-allow-origin'), '*');
    const res = await fetch(`${HC_URL}/render/status`);
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(typeof body.error?.code, 'string');
    assert.equal(typeof body.error?.message, 'string');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });

  test('an invalid request is a 400 HydraError naming the field', async () => {
    const bad = seedRequest(`ts-bad-${run}`);
    bad.settings.vibe = 'Loud';
    await assert.rejects(client.submitRenderJob(bad), (e) => {
      assert.ok(e instanceof HydraError, String(e));
      assert.equal(e.status, 400);
      assert.match(e.message, /settings\.vibe/);
      return true;
    });
  });

  test('submitRenderJob: 202 with the status; getRenderStatus has every §3 field', async (t) => {
    const req = seedRequest(`ts-a-${run}`, {
      callback_url: `${mediaUrl}/callback`,
      callback_secret: secret,
      metadata: { run, user: '사용자 🌊' },
    });
    const st = await client.submitRenderJob(req);
    assert.equal(rf.last.status, 202);
    assert.equal(st.job_id, req.job_id);
    assert.ok(['queued', 'processing'].includes(st.status), st.status);
    assert.deepEqual(st.metadata, req.metadata);
    jobA = req;

    const got = await client.getRenderStatus(req.job_id);
    assert.equal(got.job_id, req.job_id);
    const raw = await (await fetch(`${HC_URL}/render/status?job_id=${encodeURIComponent(req.job_id)}`)).json();
    for (const k of STATUS_FIELDS) assert.ok(k in raw, `status field ${k} present`);
    const missing = EXTRA_FIELDS.filter((k) => !(k in raw));
    if (missing.length) t.diagnostic(`status lacks optional fields: ${missing.join(', ')}`);
    assert.ok(!JSON.stringify(raw).includes(secret), 'the callback secret is never echoed');
  });

  test('resubmitting the same body is idempotent (200); a different body is 409', async () => {
    const again = await client.submitRenderJob(jobA);
    assert.equal(rf.last.status, 200);
    assert.equal(again.job_id, jobA.job_id);
    const conflicting = { ...jobA, settings: { ...jobA.settings, target_duration: 3 } };
    await assert.rejects(client.submitRenderJob(conflicting), (e) => {
      assert.ok(e instanceof HydraError, String(e));
      assert.equal(e.status, 409);
      assert.ok(e.code && e.message);
      return true;
    });
  });

  test('waitForRender resolves when completed; output and poster are served', { timeout: 150_000 }, async () => {
    const seen = [];
    const st = await client.waitForRender(jobA.job_id, {
      intervalMs: 200,
      maxIntervalMs: 1000,
      timeoutMs: 140_000,
      onProgress: (s) => seen.push(`${s.status}:${s.progress}`),
    });
    assert.equal(st.status, 'completed');
    assert.equal(st.progress, 100);
    assert.equal(st.error, null);
    assert.ok(st.output_url && st.poster_url, 'output_url and poster_url');
    assert.ok(Math.abs(st.duration_s - 2) < 0.1, `duration_s ${st.duration_s}`);
    assert.ok(st.render_s > 0, `render_s ${st.render_s}`);
    assert.ok(st.encoder, 'encoder');
    assert.ok(st.created_at && st.started_at && st.finished_at, 'timestamps');
    assert.ok(st.attempts >= 1);
    assert.ok(seen.length >= 1 && seen.at(-1) === 'completed:100', seen.join(' '));
    const mp4 = Buffer.from(await (await fetch(st.output_url, { headers: authHeaders() })).arrayBuffer());
    assert.equal(mp4.subarray(4, 8).toString('latin1'), 'ftyp', 'output is an MP4');
    const jpg = Buffer.from(await (await fetch(st.poster_url, { headers: authHeaders() })).arrayBuffer());
    assert.ok(jpg[0] === 0xff && jpg[1] === 0xd8, 'poster is a JPEG');
  });

  test('the completion callback arrives and verifies with callback_secret', { timeout: 60_000 }, async () => {
    for (let i = 0; i < 200 && callbacks.length === 0; i++) await sleep(250);
    assert.equal(callbacks.length >= 1, true, 'callback received');
    const cb = callbacks[0];
    const sig = cb.headers['x-hydra-signature'];
    assert.match(sig ?? '', /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(cb.headers['x-hydra-event'], 'render.completed');
    assert.ok(cb.headers['x-hydra-delivery'], 'X-Hydra-Delivery');
    assert.equal(await verifyWebhookSignature(cb.raw, sig, secret), true, 'valid with the secret (bytes)');
    assert.equal(await verifyWebhookSignature(cb.raw.toString('utf8'), sig, secret), true, 'valid with the secret (string)');
    assert.equal(await verifyWebhookSignature(cb.raw, sig, secret + 'x'), false, 'invalid with another secret');
    assert.equal(await verifyWebhookSignature(Buffer.concat([cb.raw, Buffer.from(' ')]), sig, secret), false, 'invalid when tampered');
    const body = JSON.parse(cb.raw.toString('utf8'));
    assert.equal(body.job_id, jobA.job_id);
    assert.equal(body.status, 'completed');
    assert.ok(body.output_url);
    assert.deepEqual(body.metadata, jobA.metadata);
    assert.ok(!cb.raw.toString('utf8').includes(secret), 'the secret is not in the callback body');
  });

  test('cancelRenderJob cancels; waitForRender then rejects with RenderFailedError "canceled"', { timeout: 60_000 }, async () => {
    // Long enough (30 s at 1080p) that it cannot finish before the cancel.
    const req = seedRequest(`ts-b-${run}`);
    req.settings = { ...req.settings, target_duration: 30, resolution: '1080p', quality: 'standard' };
    jobB = req;
    await client.submitRenderJob(req);
    const st = await client.cancelRenderJob(req.job_id);
    assert.equal(st.job_id, req.job_id);
    assert.ok(['canceled', 'processing', 'queued'].includes(st.status), st.status);
    await assert.rejects(client.waitForRender(req.job_id, { intervalMs: 100, timeoutMs: 30_000 }), (e) => {
      assert.ok(e instanceof RenderFailedError, String(e));
      assert.equal(e.code, 'canceled');
      assert.equal(e.job.status, 'canceled');
      return true;
    });
    assert.equal((await client.getRenderStatus(req.job_id)).status, 'canceled');
    // Canceling a final job is a 409 whose body also carries the job.
    await assert.rejects(client.cancelRenderJob(req.job_id), (e) => e instanceof HydraError && e.status === 409);
  });

  test('listJobs: newest first, status filter, cursor pagination', async () => {
    const all = await client.listJobs({ limit: 100 });
    const ids = all.jobs.map((j) => j.job_id);
    assert.ok(ids.includes(jobA.job_id) && ids.includes(jobB.job_id), ids.join(','));
    assert.ok(ids.indexOf(jobB.job_id) < ids.indexOf(jobA.job_id), 'newest first');

    const done = await client.listJobs({ status: 'completed', limit: 100 });
    assert.ok(done.jobs.every((j) => j.status === 'completed'));
    assert.ok(done.jobs.some((j) => j.job_id === jobA.job_id));
    assert.ok(!done.jobs.some((j) => j.job_id === jobB.job_id));
    const canceled = await client.listJobs({ status: 'canceled' });
    assert.ok(canceled.jobs.some((j) => j.job_id === jobB.job_id));
    const both = await client.listJobs({ status: ['completed', 'canceled'] });
    assert.ok(both.jobs.some((j) => j.job_id === jobA.job_id) && both.jobs.some((j) => j.job_id === jobB.job_id));

    const p1 = await client.listJobs({ limit: 1 });
    assert.equal(p1.jobs.length, 1);
    assert.ok(p1.next_cursor, 'a next_cursor when more jobs exist');
    const p2 = await client.listJobs({ limit: 1, cursor: p1.next_cursor });
    assert.equal(p2.jobs.length, 1);
    assert.notEqual(p2.jobs[0].job_id, p1.jobs[0].job_id);
    const walked = [];
    for await (const j of client.iterateJobs({ limit: 1 })) walked.push(j.job_id);
    assert.deepEqual(walked, ids, 'iterating page by page gives the same list');
  });
});

function authHeaders() {
  return process.env.HC_API_KEY ? { Authorization: `Bearer ${process.env.HC_API_KEY}` } : {};
}


// Counted as a skip in the runner's summary (a skipped describe counts nothing).
if (SKIP) test('integration against the real server', { skip: SKIP }, () => {});
