/**
 * The soak's "Stripe": signs and POSTs webhook deliveries from its own thread, so sending them does not compete with
 * the pipeline under test for one event loop. Plain JavaScript (Node runs it as is under tsx and vitest alike); it
 * signs as Stripe does (`Stripe-Signature: t=<now>,v1=HMAC-SHA256(secret, "<t>.<payload>")`), afresh per delivery.
 *
 * Messages: `{ url, secret, payloads: string[], concurrency }` -> `{ answers: { [status]: count } }` once all are
 * answered (or `{ error }`).
 */
import { createHmac } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', async ({ url, secret, payloads, concurrency }) => {
  const answers = {};
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < payloads.length) {
          const payload = payloads[next++];
          const t = Math.floor(Date.now() / 1000);
          const v1 = createHmac('sha256', secret).update(`${t}.${payload}`).digest('hex');
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': `t=${t},v1=${v1}` },
            body: payload,
          });
          await res.text();
          answers[res.status] = (answers[res.status] ?? 0) + 1;
        }
      }),
    );
    parentPort.postMessage({ answers });
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
});
