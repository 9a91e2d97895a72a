/**
 * Verification of completion callbacks (DESIGN.md §9).
 *
 * The server sends `X-Hydra-Signature: t=UNIX,v1=HEX`, HEX being the
 * HMAC-SHA256 of the ASCII bytes `UNIX` `.` followed by the raw request body,
 * keyed with the job's `callback_secret` (else the server's CALLBACK_SECRET).
 * Verify against the raw body exactly as received: parsing and re-serialising
 * the JSON changes the bytes and the signature no longer matches.
 *
 * On Node the digest is compared with node:crypto's timingSafeEqual; in
 * browsers (and other runtimes with WebCrypto but no node:crypto)
 * crypto.subtle.verify does the comparison, which is constant-time by design.
 */

export interface VerifyWebhookOptions {
  /** Largest accepted |now - t| in seconds (default 300). Replayed old deliveries fail. */
  toleranceS?: number;
  /** The current time, Unix seconds (default: the clock). For tests and replays. */
  now?: number;
}

interface NodeCryptoSubset {
  createHmac(alg: string, key: Uint8Array): {
    update(data: Uint8Array): { digest(): Uint8Array };
  };
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

let nodeCrypto: Promise<NodeCryptoSubset | null> | undefined;

/** node:crypto when running on Node, else null. Loaded once, lazily, so bundlers for browsers skip it. */
function loadNodeCrypto(): Promise<NodeCryptoSubset | null> {
  if (!nodeCrypto) {
    const isNode =
      typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
    const spec = 'node:crypto';
    nodeCrypto = isNode
      ? import(/* webpackIgnore: true */ /* @vite-ignore */ spec).then(
          (m: NodeCryptoSubset & { default?: NodeCryptoSubset }) =>
            typeof m.createHmac === 'function' ? m : (m.default ?? null),
          () => null,
        )
      : Promise.resolve(null);
  }
  return nodeCrypto;
}

const encoder = new TextEncoder();

/** Bytes backed by a plain ArrayBuffer (what WebCrypto's BufferSource wants). */
type Bytes = Uint8Array<ArrayBuffer>;

function toBytes(data: string | Uint8Array | ArrayBuffer): Bytes {
  if (typeof data === 'string') return encoder.encode(data);
  // A copy: the caller's view may be a slice of a larger or shared buffer.
  return new Uint8Array(data instanceof Uint8Array ? data : new Uint8Array(data));
}

function hexToBytes(hex: string): Bytes | null {
  if (hex.length !== 64 || !/^[0-9a-fA-F]+$/.test(hex)) return null;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Parse `t=UNIX,v1=HEX[,v1=HEX...]`; null when malformed. Unknown keys (future schemes) are ignored. */
export function parseSignatureHeader(header: string): { t: number; v1: string[] } | null {
  if (typeof header !== 'string' || header.length > 4096) return null;
  let t: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return null;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== null || !/^\d{1,12}$/.test(value)) return null;
      t = Number(value);
    } else if (key === 'v1') {
      v1.push(value);
    }
  }
  if (t === null || v1.length === 0) return null;
  return { t, v1 };
}

/** The signed message: ASCII `t.` then the raw body bytes. */
function signedPayload(t: number, body: Bytes): Bytes {
  const prefix = encoder.encode(`${t}.`);
  const msg = new Uint8Array(prefix.length + body.length);
  msg.set(prefix, 0);
  msg.set(body, prefix.length);
  return msg;
}

/**
 * True when `header` (the `X-Hydra-Signature` value) is a valid signature of
 * `rawBody` under `secret`, made within `toleranceS` seconds of `now`. Never
 * throws for bad input: a malformed header, an empty secret, a stale or
 * future timestamp, a wrong digest all give false.
 */
export async function verifyWebhookSignature(
  rawBody: string | Uint8Array | ArrayBuffer,
  header: string | null | undefined,
  secret: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): Promise<boolean> {
  if (!header) return false;
  const parsed = parseSignatureHeader(header);
  if (!parsed) return false;
  const key = toBytes(secret);
  if (key.length === 0) return false;
  const toleranceS = options.toleranceS ?? 300;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (!(Math.abs(now - parsed.t) <= toleranceS)) return false;

  const candidates = parsed.v1.map(hexToBytes).filter((b): b is Bytes => b !== null);
  if (candidates.length === 0) return false;
  const msg = signedPayload(parsed.t, toBytes(rawBody));

  const nc = await loadNodeCrypto();
  if (nc) {
    const expected = nc.createHmac('sha256', key).update(msg).digest();
    let ok = false;
    // Check every candidate (no early exit) so timing does not reveal which matched.
    for (const c of candidates) ok = nc.timingSafeEqual(new Uint8Array(expected), c) || ok;
    return ok;
  }
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) throw new Error('verifyWebhookSignature: neither node:crypto nor WebCrypto is available');
  const cryptoKey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  let ok = false;
  for (const c of candidates) ok = (await subtle.verify('HMAC', cryptoKey, c, msg)) || ok;
  return ok;
}

/**
 * The `X-Hydra-Signature` value the server would send for `rawBody` at time
 * `t` (Unix seconds, default now): for testing your own callback receiver.
 */
export async function signWebhookPayload(
  rawBody: string | Uint8Array | ArrayBuffer,
  secret: string | Uint8Array,
  t: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  const msg = signedPayload(t, toBytes(rawBody));
  const key = toBytes(secret);
  const nc = await loadNodeCrypto();
  let mac: Uint8Array;
  if (nc) {
    mac = new Uint8Array(nc.createHmac('sha256', key).update(msg).digest());
  } else {
    const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
    if (!subtle) throw new Error('signWebhookPayload: neither node:crypto nor WebCrypto is available');
    const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    mac = new Uint8Array(await subtle.sign('HMAC', k, msg));
  }
  let hex = '';
  for (const b of mac) hex += b.toString(16).padStart(2, '0');
  return `t=${t},v1=${hex}`;
}

/** For tests: force the WebCrypto path (as in a browser) or restore autodetection. */
export function _setNodeCryptoForTesting(mode: 'auto' | 'webcrypto'): void {
  nodeCrypto = mode === 'webcrypto' ? Promise.resolve(null) : undefined;
}
