// verifyWebhookSignature against signatures made independently with
// node:crypto's createHmac over "t.body" (DESIGN.md §9), on both the
// node:crypto path and the WebCrypto path a browser takes.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { verifyWebhookSignature, signWebhookPayload, parseSignatureHeader } from '../dist/index.js';
import { _setNodeCryptoForTesting } from '../dist/webhook.js';

const SECRET = 'whsec_test_5f1c';
const BODY = JSON.stringify({
  job_id: 'test-001',
  status: 'completed',
  output_url: 'http://127.0.0.1:8080/files/renders/test-001.mp4',
  metadata: { user: '사용자', emoji: '🌊' },
});
const T = 1_767_225_600; // a fixed Unix time

function sign(body, secret, t) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

// Node 18 has WebCrypto only as node:crypto's webcrypto, not as globalThis.crypto.
const NO_WEBCRYPTO = globalThis.crypto?.subtle ? false : 'no globalThis.crypto.subtle on this Node (added by default in 19)';

for (const path of ['node:crypto', 'webcrypto']) {
  describe(`verifyWebhookSignature (${path})`, { skip: path === 'webcrypto' && NO_WEBCRYPTO }, () => {
    after(() => _setNodeCryptoForTesting('auto'));
    const opts = { now: T + 5 };

    test('accepts a signature made with createHmac over "t.body"', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      assert.equal(await verifyWebhookSignature(BODY, sign(BODY, SECRET, T), SECRET, opts), true);
    });

    test('accepts the raw body as bytes (Uint8Array, Buffer, ArrayBuffer)', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      const h = sign(BODY, SECRET, T);
      const bytes = new TextEncoder().encode(BODY);
      assert.equal(await verifyWebhookSignature(bytes, h, SECRET, opts), true);
      assert.equal(await verifyWebhookSignature(Buffer.from(BODY), h, SECRET, opts), true);
      assert.equal(await verifyWebhookSignature(bytes.buffer, h, SECRET, opts), true);
      // a view into a larger buffer: only the view's bytes count
      const big = new Uint8Array(bytes.length + 8);
      big.set(bytes, 4);
      assert.equal(await verifyWebhookSignature(big.subarray(4, 4 + bytes.length), h, SECRET, opts), true);
    });

    test('rejects a wrong secret', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      assert.equal(await verifyWebhookSignature(BODY, sign(BODY, SECRET, T), SECRET + 'x', opts), false);
      assert.equal(await verifyWebhookSignature(BODY, sign(BODY, SECRET, T), '', opts), false);
    });

    test('rejects a tampered body', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      const h = sign(BODY, SECRET, T);
      assert.equal(await verifyWebhookSignature(BODY.replace('completed', 'failed'), h, SECRET, opts), false);
      assert.equal(await verifyWebhookSignature(BODY + ' ', h, SECRET, opts), false);
      // re-serialised JSON is different bytes: must not verify
      const reserialised = JSON.stringify(JSON.parse(BODY), null, 1);
      assert.equal(await verifyWebhookSignature(reserialised, h, SECRET, opts), false);
    });

    test('rejects a tampered timestamp (signature bound to t)', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      const hex = sign(BODY, SECRET, T).split('v1=')[1];
      assert.equal(await verifyWebhookSignature(BODY, `t=${T + 1},v1=${hex}`, SECRET, opts), false);
    });

    test('rejects a stale or future timestamp; tolerance is inclusive and configurable', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      const h = sign(BODY, SECRET, T);
      assert.equal(await verifyWebhookSignature(BODY, h, SECRET, { now: T + 300 }), true);
      assert.equal(await verifyWebhookSignature(BODY, h, SECRET, { now: T + 301 }), false);
      assert.equal(await verifyWebhookSignature(BODY, h, SECRET, { now: T - 301 }), false);
      assert.equal(await verifyWebhookSignature(BODY, h, SECRET, { now: T + 3600, toleranceS: 3600 }), true);
      assert.equal(await verifyWebhookSignature(BODY, h, SECRET, { now: T + 11, toleranceS: 10 }), false);
      // default clock: a signature made now verifies, one from an hour ago does not
      const now = Math.floor(Date.now() / 1000);
      assert.equal(await verifyWebhookSignature(BODY, sign(BODY, SECRET, now), SECRET), true);
      assert.equal(await verifyWebhookSignature(BODY, sign(BODY, SECRET, now - 3600), SECRET), false);
    });

    test('rejects malformed headers without throwing', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      const hex = sign(BODY, SECRET, T).split('v1=')[1];
      const bad = [
        '',
        null,
        undefined,
        'garbage',
        `v1=${hex}`, // no t
        `t=${T}`, // no v1
        `t=,v1=${hex}`,
        `t=abc,v1=${hex}`,
        `t=-5,v1=${hex}`,
        `t=${T}.5,v1=${hex}`,
        `t=${T},v1=${hex.slice(0, 63)}`, // short digest
        `t=${T},v1=${hex}00`, // long digest
        `t=${T},v1=${hex.slice(0, 62)}zz`, // not hex
        `t=${T},t=${T},v1=${hex}`, // two timestamps
        `t=${T},,v1=${hex}`,
        `t=${T};v1=${hex}`,
        `t=${T},v1=${hex},` + 'x'.repeat(5000),
      ];
      for (const h of bad) {
        assert.equal(await verifyWebhookSignature(BODY, h, SECRET, opts), false, `header ${JSON.stringify(h)?.slice(0, 80)}`);
      }
    });

    test('accepts when any of several v1 values matches (secret rotation); tolerates spaces and other schemes', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      const good = sign(BODY, SECRET, T).split('v1=')[1];
      const other = sign(BODY, 'old-secret', T).split('v1=')[1];
      assert.equal(await verifyWebhookSignature(BODY, `t=${T},v1=${other},v1=${good}`, SECRET, opts), true);
      assert.equal(await verifyWebhookSignature(BODY, `t=${T}, v1=${good}`, SECRET, opts), true);
      assert.equal(await verifyWebhookSignature(BODY, `t=${T},v0=abc,v1=${good}`, SECRET, opts), true);
      assert.equal(await verifyWebhookSignature(BODY, `t=${T},v1=${other}`, SECRET, opts), false);
    });

    test('signWebhookPayload produces what createHmac does', async () => {
      _setNodeCryptoForTesting(path === 'webcrypto' ? 'webcrypto' : 'auto');
      assert.equal(await signWebhookPayload(BODY, SECRET, T), sign(BODY, SECRET, T));
    });
  });
}

test('parseSignatureHeader', () => {
  assert.deepEqual(parseSignatureHeader('t=12,v1=ab'), { t: 12, v1: ['ab'] });
  assert.equal(parseSignatureHeader('t=12'), null);
});
