/**
 * The soak's verdicts, from what it recorded (see engine.ts for what each one means). Pure: the CI soak asserts each
 * list is empty, the 100k soak reports their sizes. Indexed so they stay linear in the number of events.
 */
import type { Chaos } from './chaos';
import type { DeadLetter } from './engine';
import type { Scenario } from './scenario';

export interface SoakChecks {
  /** Accepted events neither applied nor dead-lettered with their reason. */
  readonly lost: number;
  /**
   * Handler runs, publishes or DLQ copies beyond 1 + the deaths that explain them (an invocation that died after
   * running the handler and before recording the outcome must run it again: at least once, into the DLQ too).
   */
  readonly doubled: number;
  /** Per-object regressions: a state older than one already published, or older than the event itself. */
  readonly stale: number;
  /** Up to 20 examples of each finding (empty when all is well). */
  readonly findings: {
    readonly lost: string[];
    readonly unexplainedRuns: string[];
    readonly unexplainedPublishes: string[];
    /** DLQ copies of one event beyond 1 + deaths after its handler ran (SQS FIFO drops copies within 5 minutes). */
    readonly doubleDeadLetters: string[];
    readonly stale: string[];
    /** An object's events first applied out of queue order. */
    readonly outOfOrder: string[];
    /** An object asked for again before the Retry-After of a 429 had passed. */
    readonly retryAfterIgnored: string[];
    /** DLQ entries that are not the poison events, or lack the expected code and reason. */
    readonly unexpectedDeadLetters: string[];
  };
  /** Sizes of the lists above (the lists are cut at 20). */
  readonly counts: Record<keyof SoakChecks['findings'], number>;
}

export interface SoakRecord {
  readonly scenario: Scenario;
  readonly ledger: ReadonlyMap<string, { eventId: string; version: number | undefined }>;
  readonly sink: ReadonlyArray<{ eventId: string; version: number | undefined }>;
  readonly chaos: Chaos;
  readonly deadLettered: readonly DeadLetter[];
}

const EXAMPLES = 20;

export function checkSoak(r: SoakRecord): SoakChecks {
  const { scenario, ledger, sink, chaos } = r;
  const eventById = new Map(scenario.events.map((e) => [e.id, e]));
  const good = scenario.events.filter((e) => !e.object.poison);
  const poison = scenario.events.filter((e) => e.object.poison);
  const all: Record<keyof SoakChecks['findings'], string[]> = {
    lost: [],
    unexplainedRuns: [],
    unexplainedPublishes: [],
    doubleDeadLetters: [],
    stale: [],
    outOfOrder: [],
    retryAfterIgnored: [],
    unexpectedDeadLetters: [],
  };

  // The DLQ: poison events only, once each, with the handler's reason.
  const dlqCount = new Map<string, number>();
  for (const d of r.deadLettered) {
    dlqCount.set(d.eventId, (dlqCount.get(d.eventId) ?? 0) + 1);
    const event = eventById.get(d.eventId);
    if (!event?.object.poison || d.code !== 'object_gone' || !d.reason.includes(event.object.id)) {
      all.unexpectedDeadLetters.push(`${d.eventId}: ${d.code} ${d.reason}`);
    }
  }

  // Lost: a good event the ledger never got, a poison event the DLQ never got.
  for (const e of good) if (!ledger.has(e.id)) all.lost.push(`${e.id} (${e.object.key}): never applied`);
  for (const e of poison) if (!dlqCount.has(e.id)) all.lost.push(`${e.id} (${e.object.key}): not in the DLQ`);
  for (const [key, entry] of ledger)
    if (entry.eventId !== key) all.lost.push(`${key}: ledger entry of ${entry.eventId}`);

  // Doubled: runs and publishes beyond 1 + deaths after them and before DONE.
  const diedAfterRun = new Map<string, number>();
  const diedAfterPublish = new Map<string, number>();
  for (const i of chaos.invocations) {
    if (i.death === undefined) continue;
    for (const id of i.executed) if (!i.markedDone.has(id)) diedAfterRun.set(id, (diedAfterRun.get(id) ?? 0) + 1);
    for (const id of i.published) {
      if (!i.markedDone.has(id)) diedAfterPublish.set(id, (diedAfterPublish.get(id) ?? 0) + 1);
    }
  }
  for (const [eventId, n] of dlqCount) {
    const deaths = diedAfterRun.get(eventId) ?? 0;
    if (n > 1 + deaths) {
      all.doubleDeadLetters.push(
        `${eventId}: ${n} copies in the DLQ, ${deaths} deaths after a run; ${explainDeadLetters(eventId, r)}`,
      );
    }
  }
  const runs = new Map<string, number>();
  for (const x of chaos.executions) runs.set(x.eventId, (runs.get(x.eventId) ?? 0) + 1);
  const publishes = new Map<string, number>();
  for (const p of sink) publishes.set(p.eventId, (publishes.get(p.eventId) ?? 0) + 1);
  for (const e of good) {
    const deaths = diedAfterRun.get(e.id) ?? 0;
    if ((runs.get(e.id) ?? 0) !== 1 + deaths) {
      all.unexplainedRuns.push(`${e.id}: ${runs.get(e.id) ?? 0} runs, ${deaths} deaths after a run`);
    }
    const publishDeaths = diedAfterPublish.get(e.id) ?? 0;
    if ((publishes.get(e.id) ?? 0) !== 1 + publishDeaths) {
      all.unexplainedPublishes.push(
        `${e.id}: ${publishes.get(e.id) ?? 0} publishes, ${publishDeaths} deaths after one`,
      );
    }
  }

  // FIFO per object: each object's events first applied in the order their messages were queued.
  const firstRun = new Map<string, bigint>();
  const appliedInOrder = new Map<string, string[]>();
  for (const x of chaos.executions) {
    if (firstRun.has(x.eventId)) continue;
    firstRun.set(x.eventId, x.sequenceNumber);
    const key = eventById.get(x.eventId)!.object.key;
    const list = appliedInOrder.get(key) ?? [];
    list.push(x.eventId);
    appliedInOrder.set(key, list);
  }
  for (const [key, ids] of appliedInOrder) {
    for (let i = 1; i < ids.length; i++) {
      if (firstRun.get(ids[i]!)! <= firstRun.get(ids[i - 1]!)!)
        all.outOfOrder.push(`${key}: ${ids[i - 1]} then ${ids[i]}`);
    }
  }

  // Fresh state only: per object, the version in sink order never goes back, and never predates the event.
  const lastVersion = new Map<string, number>();
  for (const p of sink) {
    const event = eventById.get(p.eventId)!;
    const version = p.version ?? -1;
    if (version < event.version) all.stale.push(`${p.eventId}: fetched v${version}, event is v${event.version}`);
    const before = lastVersion.get(event.object.key) ?? 0;
    if (version < before) all.stale.push(`${p.eventId}: v${version} published after v${before} of ${event.object.key}`);
    lastVersion.set(event.object.key, Math.max(before, version));
  }

  // Retry-After: after a 429, the object is not asked for again too soon. Not checked for invocations that died or
  // timed out: their messages may be back on the queue before they delay them (in Lambda they no longer run at all).
  const cutShort = new Set(chaos.invocations.filter((i) => i.death !== undefined || i.timedOut).map((i) => i.id));
  const byKey = new Map<string, Array<(typeof chaos.stripeRequests)[number]>>();
  for (const q of chaos.stripeRequests) {
    const list = byKey.get(q.key) ?? [];
    list.push(q);
    byKey.set(q.key, list);
  }
  for (const list of byKey.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 0; i < list.length - 1; i++) {
      const q = list[i]!;
      if (q.retryAfterSeconds === undefined || q.endedAt === undefined || cutShort.has(q.invocation)) continue;
      let next: (typeof list)[number] | undefined;
      for (let j = i + 1; j < list.length && !next; j++) if (list[j]!.startedAt > q.startedAt) next = list[j];
      if (next && next.startedAt < q.endedAt + q.retryAfterSeconds * 1000) {
        all.retryAfterIgnored.push(
          `${q.key}: again after ${next.startedAt - q.endedAt} ms, Retry-After ${q.retryAfterSeconds} s`,
        );
      }
    }
  }

  const counts = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.length])) as SoakChecks['counts'];
  const findings = Object.fromEntries(
    Object.entries(all).map(([k, v]) => [k, v.slice(0, EXAMPLES)]),
  ) as unknown as SoakChecks['findings'];
  return {
    lost: counts.lost,
    doubled: counts.unexplainedRuns + counts.unexplainedPublishes + counts.doubleDeadLetters,
    stale: counts.stale,
    findings,
    counts,
  };
}

/** Which messages the copies came from, when, and which invocations sent them (timed out or not). */
function explainDeadLetters(eventId: string, r: SoakRecord): string {
  const copies = r.deadLettered
    .filter((d) => d.eventId === eventId)
    .map((d) => `copy of ${d.originalMessageId ?? '?'} at ${d.failedAt ?? '?'}`);
  const sends = r.chaos.invocations.flatMap((i) =>
    i.deadLetterSends
      .filter((s) => s.eventId === eventId)
      .map(
        (s) =>
          `invocation ${i.id}${i.timedOut ? ' (timed out)' : ''}${i.death ? ' (died)' : ''} sent ${s.messageId} at ` +
          `${new Date(s.at).toISOString()}, answered ${s.answered ?? '-'}`,
      ),
  );
  return [...copies, ...sends].join('; ');
}
