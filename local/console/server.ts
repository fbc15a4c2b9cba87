/**
 * The console's HTTP routes, served by the local pipeline's own HTTP server under `/_console` (127.0.0.1 only):
 *
 *   GET  /_console                  live event list: counters, filters (type, object, status), pages of 50
 *   GET  /_console/events/<id>      one event: payload, object as fetched, handler result, each attempt
 *   GET  /_console/objects/<id>     one object's timeline: the states handed to handlers, in order
 *   GET  /_console/dlq              the events in the DLQ, with redrive and replay buttons
 *   GET  /_console/stream           server-sent events: "change" whenever the journal changes
 *   GET  /_console/status.json      what `npm run ops -- status` prints: counters, events by status, last errors
 *   POST /_console/actions/redrive  the CLI's `dlq redrive` code
 *   POST /_console/actions/replay   the CLI's `replay --id` code
 *
 * A page asked for with `x-fragment: 1` answers only its live part (what the inline script swaps in). Actions need
 * the page's token (a random value per process), so a web page elsewhere cannot make the browser post to them.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QueueFigures } from '../../ops/queues';
import type { RawHandler } from '../http-adapter';
import { EVENT_STATUSES, type EventJournal, type EventStatus, type Filter } from './journal';
import { dlqLive, eventLive, filterForm, flash, layout, listLive, objectLive } from './render';

export const CONSOLE_PATH = '/_console';

export interface ConsoleDeps {
  readonly journal: EventJournal;
  /** Queue, DLQ and in-flight counts (GetQueueAttributes: no message is received). */
  readonly figures: () => Promise<QueueFigures>;
  /** Runs `dlq redrive`; returns what to tell the user. */
  readonly redrive: () => Promise<string>;
  /** Runs `replay --id <id>`; returns what to tell the user. */
  readonly replay: (eventId: string) => Promise<string>;
}

/** How often an idle stream gets a comment line, so proxies and browsers keep it open. */
const HEARTBEAT_MS = 15_000;
/** Largest form body accepted by an action. */
const MAX_FORM_BYTES = 4096;

/** GET /_console/status.json. */
export interface ConsoleStatus {
  readonly counters: EventJournal['counters'];
  readonly byStatus: Record<EventStatus, number>;
  /** Stripe calls per processed event; null before the first. */
  readonly callsPerEvent: number | null;
  readonly lastErrors: ReturnType<EventJournal['lastErrors']>;
  readonly queues: QueueFigures;
  /** Events the journal holds (it keeps the newest 10,000). */
  readonly events: number;
}

export interface ConsoleHandle {
  /** Answers a request under /_console and returns true; returns false for any other path. */
  readonly handle: RawHandler;
  readonly token: string;
  close(): void;
}

export function createConsole(deps: ConsoleDeps): ConsoleHandle {
  const token = randomBytes(16).toString('hex');
  const streams = new Set<ServerResponse>();

  const handle: RawHandler = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== CONSOLE_PATH && !url.pathname.startsWith(`${CONSOLE_PATH}/`)) return false;
    route(req, res, url).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `console error: ${(err as Error).message}`);
      else res.end();
    });
    return true;
  };

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice(CONSOLE_PATH.length) || '/';
    if (req.method === 'POST' && path.startsWith('/actions/')) return action(req, res, path.slice('/actions/'.length));
    if (req.method !== 'GET') return send(res, 405, 'text/plain', 'method not allowed');
    if (path === '/stream') return stream(req, res);
    if (path === '/status.json') {
      const body: ConsoleStatus = {
        counters: deps.journal.counters,
        byStatus: deps.journal.byStatus(),
        callsPerEvent: deps.journal.callsPerEvent() ?? null,
        lastErrors: deps.journal.lastErrors(),
        queues: await deps.figures(),
        events: deps.journal.size,
      };
      return send(res, 200, 'application/json', JSON.stringify(body));
    }
    const fragment = req.headers['x-fragment'] === '1';
    const page = (title: string, live: string, extra = '') =>
      send(res, 200, 'text/html; charset=utf-8', fragment ? live : layout(title, live, extra));
    const message = url.searchParams.get('msg') ?? undefined;

    if (path === '/' || path === '') {
      const status = url.searchParams.get('status');
      const filter: Filter = {
        ...(url.searchParams.get('type') ? { type: url.searchParams.get('type')! } : {}),
        ...(url.searchParams.get('object') ? { object: url.searchParams.get('object')! } : {}),
        ...(status && (EVENT_STATUSES as readonly string[]).includes(status) ? { status: status as EventStatus } : {}),
      };
      const n = Number(url.searchParams.get('page') ?? 1);
      return page(
        'Events',
        listLive(deps.journal, filter, n, await deps.figures()),
        flash(message) + filterForm(deps.journal, filter),
      );
    }
    if (path === '/dlq') {
      return page('DLQ', dlqLive(deps.journal.withStatus('dlq'), await deps.figures(), token), flash(message));
    }
    const eventMatch = /^\/events\/([^/]+)$/.exec(path);
    if (eventMatch) {
      const ev = deps.journal.get(decodeURIComponent(eventMatch[1]!));
      if (!ev)
        return send(
          res,
          404,
          'text/html; charset=utf-8',
          layout('Not found', '<p>No such event in the console (it keeps the newest 10,000).</p>'),
        );
      return page(ev.eventId, eventLive(ev, token), flash(message));
    }
    const objectMatch = /^\/objects\/([^/]+)$/.exec(path);
    if (objectMatch) {
      const objectId = decodeURIComponent(objectMatch[1]!);
      const events = deps.journal.list({ object: objectId }, 1).events;
      return page(objectId, objectLive(objectId, deps.journal.timeline(objectId), events));
    }
    return send(res, 404, 'text/plain', 'not found');
  }

  function stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    streams.add(res);
    const unsubscribe = deps.journal.subscribe(() => res.write('data: change\n\n'));
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  }

  async function action(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const form = await readForm(req);
    if (!form || !sameToken(form.get('token') ?? '', token)) {
      return send(res, 403, 'text/plain', 'missing or wrong console token: reload the page and try again');
    }
    let message: string;
    let back = `${CONSOLE_PATH}/dlq`;
    if (name === 'redrive') message = await deps.redrive();
    else if (name === 'replay') {
      const id = form.get('id') ?? '';
      if (!/^evt_[A-Za-z0-9_]+$/.test(id)) return send(res, 400, 'text/plain', 'replay needs an event id (evt_...)');
      message = await deps.replay(id);
      if (form.get('back') !== 'dlq') back = `${CONSOLE_PATH}/events/${encodeURIComponent(id)}`;
    } else return send(res, 404, 'text/plain', 'no such action');
    res.writeHead(303, { location: `${back}?msg=${encodeURIComponent(message)}` });
    res.end();
  }

  return {
    handle,
    token,
    close() {
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let body = '';
  for await (const chunk of req) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length > MAX_FORM_BYTES) return undefined;
  }
  return new URLSearchParams(body);
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
