/**
 * Handler Lambdas run in-process (`npm start`, the tests): the processor's InvokeHandler for Node handlers loaded
 * from their entry files, through the same JSON contract as Lambda's Invoke (the payload goes through JSON; what
 * the handler throws becomes Lambda's `errorType`/`errorMessage`, and PermanentHandlerError means permanent).
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PERMANENT_HANDLER_ERROR } from '../lambdas/handler-lambdas/contract';
import type {
  HandlerLambdas,
  HandlerOutcome,
  HandlerTarget,
  InvokeHandler,
} from '../lambdas/processor/handler-lambdas';

/** A Node Lambda handler: what an entry file exports as `handler`. */
export type NodeHandler = (input: unknown, context?: unknown) => Promise<unknown>;

/** Invokes the handler registered under the target's `functionName`, with its timeout. */
export function inProcessInvoker(handlers: ReadonlyMap<string, NodeHandler>): InvokeHandler {
  return async (target, payload) => {
    const handler = handlers.get(target.functionName);
    if (!handler) return { ok: false, permanent: true, reason: `no local handler named ${target.functionName}` };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<HandlerOutcome>((done) => {
      timer = setTimeout(
        () => done({ ok: false, permanent: false, reason: `Task timed out after ${target.timeoutMs} ms` }),
        target.timeoutMs,
      );
    });
    const run = (async (): Promise<HandlerOutcome> => {
      try {
        JSON.stringify(await handler(JSON.parse(JSON.stringify(payload))));
        return { ok: true };
      } catch (err) {
        const errorType = err instanceof Error ? err.name : 'Error';
        const errorMessage = err instanceof Error ? err.message : String(err);
        return { ok: false, permanent: errorType === PERMANENT_HANDLER_ERROR, reason: `${errorType}: ${errorMessage}` };
      }
    })();
    try {
      return await Promise.race([run, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Imports each entry file (TypeScript through tsx, or JavaScript) and returns its `handler` by name. */
export async function loadHandlerEntries(
  entries: Readonly<Record<string, string>>,
  baseDir = process.cwd(),
): Promise<Map<string, NodeHandler>> {
  const handlers = new Map<string, NodeHandler>();
  for (const [name, entry] of Object.entries(entries)) {
    const file = isAbsolute(entry) ? entry : resolve(baseDir, entry);
    const mod = (await import(pathToFileURL(file).href)) as { handler?: unknown };
    if (typeof mod.handler !== 'function') throw new Error(`handler ${name}: ${entry} exports no function "handler"`);
    handlers.set(name, mod.handler as NodeHandler);
  }
  return handlers;
}

/** The local handler config `npm start` reads (LOCAL_HANDLERS_FILE): handler name -> entry file and event types. */
export const DEFAULT_LOCAL_HANDLERS_FILE = 'local/handlers.json';

/** One entry of the local handler config. */
export interface LocalHandlerConfig {
  /** The handler's entry file (TypeScript or JavaScript exporting `handler`), relative to the working directory. */
  readonly entry: string;
  readonly eventTypes: readonly string[];
  /** @default 5 (it must leave time in the local processor's PROCESSOR_TIMEOUT_SECONDS, 10 by default) */
  readonly timeoutSeconds?: number;
}

/**
 * The handler Lambdas of the local config `file`, run in-process; undefined when the file is absent. A malformed
 * file fails with the file and the reason.
 */
export async function loadLocalHandlerLambdas(file: string): Promise<HandlerLambdas | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const config = JSON.parse(text) as Record<string, Partial<LocalHandlerConfig>>;
  const targets: HandlerTarget[] = Object.entries(config).map(([name, c]) => {
    if (typeof c.entry !== 'string' || !Array.isArray(c.eventTypes)) {
      throw new Error(`${file}: handler ${name} needs "entry" (a file) and "eventTypes" (a list)`);
    }
    return { name, functionName: name, eventTypes: c.eventTypes, timeoutMs: (c.timeoutSeconds ?? 5) * 1000 };
  });
  const handlers = await loadHandlerEntries(
    Object.fromEntries(Object.entries(config).map(([name, c]) => [name, c.entry as string])),
  );
  return { targets, invoke: inProcessInvoker(handlers) };
}
