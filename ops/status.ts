/**
 * `npm run ops -- status`: "what happened" on one screen.
 *
 * Locally it reads the running pipeline's console (`/_console/status.json`): counts by outcome, rejections by reason,
 * Stripe calls per event, the last errors, and the queues. On AWS, where the counts live in CloudWatch, it shows the
 * queues and the DLQ's last errors (a peek: see `dlq list`) and names the dashboard that has the counts.
 */

import type { ConsoleStatus } from '../local/console/server';
import { CliError } from '../scripts/cli';
import { listDlq } from './dlq';
import { fields, table } from './format';
import { type QueueFigures, queueFigures } from './queues';
import type { OpsTarget } from './target';

export interface StatusReport {
  readonly target: string;
  readonly queues: QueueFigures;
  /** Local only: the console's counters. */
  readonly local?: Omit<ConsoleStatus, 'queues' | 'lastErrors'>;
  readonly lastErrors: ReadonlyArray<{ eventId?: string; type?: string; where: string; reason: string; at?: string }>;
}

/** How many of the last errors to show. */
const LAST_ERRORS = 5;

export async function gatherStatus(target: OpsTarget): Promise<StatusReport> {
  if (target.localUrl) {
    let res: Response;
    try {
      res = await fetch(`${target.localUrl}/_console/status.json`, { signal: AbortSignal.timeout(5000) });
    } catch (err) {
      throw new CliError(`the local pipeline at ${target.localUrl} did not answer: ${(err as Error).message}`);
    }
    if (!res.ok) {
      throw new CliError(
        `the local pipeline at ${target.localUrl} has no console (HTTP ${res.status})`,
        'restart it with `npm start` (its console serves the counts)',
      );
    }
    const { queues, lastErrors, ...local } = (await res.json()) as ConsoleStatus;
    return {
      target: target.description,
      queues,
      local,
      lastErrors: lastErrors.map((e) => ({
        eventId: e.eventId,
        type: e.type,
        where: e.status === 'dlq' ? 'DLQ' : 'retrying',
        reason: e.reason ?? '',
        at: e.updatedAt,
      })),
    };
  }
  const [queues, dlq] = await Promise.all([queueFigures(target.sqs, target), listDlq(target, LAST_ERRORS)]);
  return {
    target: target.description,
    queues,
    lastErrors: dlq.entries.map((e) => ({
      ...(e.eventId ? { eventId: e.eventId } : {}),
      ...(e.type ? { type: e.type } : {}),
      where: 'DLQ',
      reason: `${e.reason.code}: ${e.reason.message}`,
      ...(e.sentAt ? { at: e.sentAt } : {}),
    })),
  };
}

export function renderStatus(r: StatusReport): string {
  const out: string[] = [];
  const q = r.queues;
  const queues: Array<[string, string]> = [
    ['queue', `${q.queueDepth} waiting, ${q.inFlight} in flight`],
    ['dlq', `${q.dlqDepth} message(s)${q.dlqDepth > 0 ? ' (`npm run ops -- dlq list`)' : ''}`],
  ];
  if (r.local) {
    const c = r.local.counters;
    const rejected = Object.values(c.rejected).reduce((a, b) => a + b, 0);
    const reasons = Object.entries(c.rejected)
      .map(([reason, n]) => `${reason} ${n}`)
      .join(', ');
    out.push(
      fields([
        ['accepted', `${c.accepted} deliveries (${r.local.events} distinct events)`],
        ['rejected', rejected === 0 ? '0' : `${rejected} (${reasons})`],
        ['processed', c.processed],
        ['duplicates', `${c.duplicates} skipped (already DONE)`],
        ['retried', `${c.retried} attempt(s) (${r.local.byStatus.retried} event(s) waiting for a retry now)`],
        ['dead-lettered', c.deadLettered],
        [
          'stripe calls',
          r.local.callsPerEvent === null ? '-' : `${r.local.callsPerEvent.toFixed(2)} per processed event`,
        ],
        ...queues,
      ]),
    );
  } else {
    out.push('Counts by outcome and Stripe calls per event: the stack\'s CloudWatch dashboard ("<app>-<region>").');
    out.push(fields(queues));
  }
  out.push('');
  if (r.lastErrors.length === 0) out.push('No errors.');
  else {
    out.push('Last errors:');
    out.push(
      table(
        ['EVENT', 'TYPE', 'WHERE', 'AT', 'REASON'],
        r.lastErrors.map((e) => [e.eventId, e.type, e.where, e.at, e.reason]),
        100,
      ),
    );
  }
  return out.join('\n');
}
