// Shared test helpers: a scripted fake fetch, status bodies, and a PNG
// encoder (node:zlib only) for images the integration test serves.
import { deflateSync } from 'node:zlib';

/** A status body as the server sends it (all §3 fields). */
export function status(job_id, status, extra = {}) {
  return {
    job_id,
    status,
    progress: status === 'completed' ? 100 : 0,
    current_step: null,
    output_url: null,
    poster_url: null,
    error: null,
    batch_job_id: null,
    created_at: '2026-01-01T00:00:00Z',
    started_at: null,
    finished_at: null,
    duration_s: null,
    render_s: null,
    encoder: null,
    encoder_reason: null,
    attempts: 0,
    metadata: null,
    frames_done: 0,
    frames_total: 0,
    warnings: [],
    ...extra,
  };
}

export function jsonResponse(body, init = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status: init.status ?? 200,
    headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) },
  });
}

/**
 * fake fetch: each call is recorded {url, init, at} and answered by
 * handler(call, index) (a Response, a thrown error, or a promise of one).
 */
export function fakeFetch(handler) {
  const calls = [];
  const fn = async (url, init = {}) => {
    const call = { url, init, method: init.method ?? 'GET', at: performance.now() };
    calls.push(call);
    return handler(call, calls.length - 1);
  };
  fn.calls = calls;
  return fn;
}

/** A fetch that never answers until its signal aborts (then rejects like fetch). */
export function hangingFetch() {
  return (url, init = {}) =>
    new Promise((_, reject) => {
      init.signal?.addEventListener('abort', () => reject(init.signal.reason ?? new Error('aborted')), { once: true });
    });
}

// ---- PNG -------------------------------------------------------------------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** An 8-bit RGB PNG of w x h; pixel(x, y) -> [r, g, b]. */
export function makePng(w, h, pixel) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0, o = 0; y < h; y++) {
    raw[o++] = 0; // filter: none
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      raw[o++] = r;
      raw[o++] = g;
      raw[o++] = b;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
