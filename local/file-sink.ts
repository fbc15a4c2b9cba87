/**
 * The local stand-in for the EventBridge bus: every processed event is appended to a JSON-lines file, one line per
 * event, in the order processing finished.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EventSink, ProcessedEvent } from '../lambdas/shared/sink';

export function fileSink(path: string): EventSink {
  let ready: Promise<unknown> | undefined;
  // Appends are chained so concurrent invocations never interleave partial lines.
  let tail: Promise<void> = Promise.resolve();
  return {
    publish(event: ProcessedEvent): Promise<void> {
      ready ??= mkdir(dirname(path), { recursive: true });
      const line = `${JSON.stringify(event)}\n`;
      const write = tail.then(async () => {
        await ready;
        await appendFile(path, line, 'utf8');
      });
      tail = write.catch(() => undefined);
      return write;
    },
  };
}

/** Reads a sink file back (missing file = nothing processed yet). */
export async function readSink(path: string): Promise<ProcessedEvent[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ProcessedEvent);
}
