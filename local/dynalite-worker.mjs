/**
 * dynalite on its own thread (see startDynamo's `inWorker`): it parses every condition and update expression with a
 * PEG parser, which costs milliseconds a call, so under load it competes with the code under test for one event
 * loop. Plain JavaScript so Node runs it as is, whatever loader the parent thread uses (tsx, vitest).
 */
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once('error', (err) => parentPort.postMessage({ error: String(err) }));
server.listen(workerData.port, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (message) => {
  if (message === 'close') server.close(() => parentPort.postMessage({ closed: true }));
});
