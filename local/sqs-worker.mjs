/**
 * fauxqs on its own thread (see startSqs's `inWorker`): the queue's own work (HTTP, JSON, an MD5 of every body) then
 * no longer shares one event loop with the code under test. Plain JavaScript that registers tsx, so it can reuse
 * local/stand-ins.ts (its SQS-like FIFO patch) whatever loader the parent thread uses (tsx, vitest).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
try {
  const { listenSqs } = await import('./stand-ins.ts');
  const server = await listenSqs(workerData.port, { fifoBatchesLikeSqs: workerData.fifoBatchesLikeSqs });
  parentPort.postMessage({ port: server.port });
  parentPort.on('message', (message) => {
    if (message === 'close') server.close().then(() => parentPort.postMessage({ closed: true }));
  });
} catch (err) {
  parentPort.postMessage({ error: String(err) });
}
