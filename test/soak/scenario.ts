/**
 * The soak test's scene, generated from a seed so a failing run can be replayed: Stripe objects that change over
 * time, the events Stripe sends about each change, and the order Stripe delivers them in (at least once, shuffled,
 * retried later, in bursts), plus which events the fault injection picks to crash or stall.
 */

/** A small deterministic PRNG (the same mixing as local/demo.ts), so a scene can be rebuilt from its seed. */
export function prng(seed: string): () => number {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296;
  };
}

export interface SoakObject {
  /** `account:id`, the FIFO message group of its events (`platform` for the platform's own objects). */
  readonly key: string;
  readonly id: string;
  readonly type: 'payment_intent' | 'account';
  /** The connected account the object lives on (Stripe-Account), if any. */
  readonly account?: string;
  /** Deleted in Stripe before any of its events is processed: every event about it must end in the DLQ. */
  readonly poison: boolean;
}

export interface SoakEvent {
  readonly id: string;
  readonly type: string;
  readonly object: SoakObject;
  /** The object's version after the change this event reports (1, 2, ...); its snapshot carries it. */
  readonly version: number;
  /** How many times Stripe delivers it (1 to 3). */
  readonly deliveries: number;
  /** Also arrives again after SQS's 5-minute deduplication window (see SoakDelivery `late`). */
  readonly late: boolean;
  /** The processor crashes right after publishing it (its first attempt only). */
  readonly crashAfterPublish: boolean;
  /** Its business handler stalls past the invocation's timeout (its first attempt only). */
  readonly stall: boolean;
  /** The event as Stripe sends it. */
  readonly body: Record<string, unknown>;
}

export interface SoakDelivery {
  readonly event: SoakEvent;
  /**
   * `webhook`: a signed POST to the webhook endpoint (re-signed on every retry, as Stripe does). `late`: the same
   * event arriving after SQS's 5-minute deduplication window (a Stripe retry hours later, an operator's replay),
   * which the test cannot wait for: it is enqueued the way `replay --force` does, with its own deduplication id.
   */
  readonly kind: 'webhook' | 'late';
}

export interface SoakBurst {
  /** Events that happen in Stripe just before this burst (the objects move to these versions). */
  readonly changes: readonly SoakEvent[];
  /** Deliveries posted concurrently, in this (shuffled) order. */
  readonly deliveries: readonly SoakDelivery[];
}

export interface Scenario {
  readonly seed: string;
  readonly accounts: readonly string[];
  readonly objects: readonly SoakObject[];
  /** Every event, in the order Stripe created them. */
  readonly events: readonly SoakEvent[];
  readonly bursts: readonly SoakBurst[];
}

export interface ScenarioOptions {
  readonly seed: string;
  readonly connectedAccounts: number;
  readonly paymentIntents: number;
  readonly poisonIntents: number;
  /** Events per payment intent: min .. min + spread - 1. */
  readonly eventsPerIntent: { readonly min: number; readonly spread: number };
  /** First deliveries per burst. */
  readonly burstSize: number;
  /** How many good events crash the processor after their publish (first attempt). */
  readonly crashes: number;
  /** How many good events stall their handler past the invocation's timeout (first attempt). */
  readonly stalls: number;
  /** How many good events arrive once more after SQS's deduplication window. */
  readonly lateCopies: number;
}

/** The CI soak's scene (npm test): 2,000+ unique events on 200+ objects. */
export const ciScenario: Omit<ScenarioOptions, 'seed'> = {
  connectedAccounts: 6,
  paymentIntents: 200,
  poisonIntents: 8,
  eventsPerIntent: { min: 8, spread: 5 },
  burstSize: 150,
  crashes: 24,
  stalls: 12,
  lateCopies: 60,
};

/**
 * A scene of about `events` unique events with the CI soak's proportions, except crashes and stalls, which grow more
 * slowly: a stall holds an execution slot past the timeout, and their number, not the scale, is what they test.
 */
export function scaledScenario(events: number): Omit<ScenarioOptions, 'seed'> {
  const intents = Math.max(20, Math.round(events / 10.2));
  return {
    connectedAccounts: Math.max(6, Math.round(intents / 35)),
    paymentIntents: intents,
    poisonIntents: Math.max(2, Math.round(intents / 25)),
    eventsPerIntent: { min: 8, spread: 5 },
    burstSize: 150,
    crashes: Math.max(24, Math.round(Math.sqrt(events) * 0.6)),
    stalls: Math.max(12, Math.round(Math.sqrt(events) * 0.15)),
    lateCopies: Math.round(events * 0.03),
  };
}

const INTENT_STEPS = [
  ['payment_intent.created', 'requires_payment_method'],
  ['payment_intent.requires_action', 'requires_action'],
  ['payment_intent.processing', 'processing'],
  ['payment_intent.amount_capturable_updated', 'requires_capture'],
  ['payment_intent.partially_funded', 'processing'],
  ['payment_intent.succeeded', 'succeeded'],
] as const;

/** The object as Stripe holds it at `version` (what the Stripe server serves, and what a snapshot carries). */
export function objectAt(
  object: SoakObject,
  version: number,
): Record<string, unknown> & { id: string; object: string } {
  const metadata = { soak_version: String(version) };
  if (object.type === 'account') {
    return { id: object.id, object: 'account', charges_enabled: version % 2 === 0, metadata };
  }
  const step = INTENT_STEPS[Math.min(version - 1, INTENT_STEPS.length - 1)]!;
  return {
    id: object.id,
    object: 'payment_intent',
    amount: 1000 + version,
    amount_received: step[1] === 'succeeded' ? 1000 + version : 0,
    currency: 'eur',
    status: step[1],
    metadata,
  };
}

/** The version a Stripe object (as fetched or as in a snapshot) carries. */
export function versionOf(object: unknown): number | undefined {
  const metadata = (object as { metadata?: { soak_version?: unknown } } | null)?.metadata;
  const v = Number(metadata?.soak_version);
  return Number.isInteger(v) ? v : undefined;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export function buildScenario(opts: ScenarioOptions): Scenario {
  const random = prng(opts.seed);
  const run = opts.seed.replace(/[^A-Za-z0-9]/g, '');
  const accounts = Array.from({ length: opts.connectedAccounts }, (_, i) => `acct_soak${run}${i}`);

  const objects: SoakObject[] = [];
  const eventCount = new Map<SoakObject, number>();
  for (const account of accounts) {
    // The connected account itself: `account.updated` arrives with event.account set; the platform retrieves it.
    const obj: SoakObject = { key: `${account}:${account}`, id: account, type: 'account', account, poison: false };
    objects.push(obj);
    eventCount.set(obj, 4 + Math.floor(random() * 4));
  }
  const intents = opts.paymentIntents + opts.poisonIntents;
  for (let i = 0; i < intents; i++) {
    const poison = i >= opts.paymentIntents;
    const account = random() < 0.4 ? accounts[Math.floor(random() * accounts.length)] : undefined;
    const id = `pi_soak${run}${poison ? 'gone' : ''}${i}`;
    const obj: SoakObject = {
      key: `${account ?? 'platform'}:${id}`,
      id,
      type: 'payment_intent',
      poison,
      ...(account ? { account } : {}),
    };
    objects.push(obj);
    eventCount.set(
      obj,
      poison
        ? 2 + Math.floor(random() * 2)
        : opts.eventsPerIntent.min + Math.floor(random() * opts.eventsPerIntent.spread),
    );
  }

  // Creation order: objects change independently, interleaved at random; each object's events in version order.
  const remaining = objects.flatMap((o) => Array.from({ length: eventCount.get(o)! }, () => o));
  shuffle(remaining, random);
  const nextVersion = new Map<SoakObject, number>();
  // A placeholder: the soak stamps each event's `created` when it applies the change the event reports.
  const created = Math.floor(Date.now() / 1000);
  // The faulty events: exact counts, picked at random among events about objects that exist.
  const goodIndexes = shuffle(
    remaining.flatMap((o, n) => (o.poison ? [] : [n])),
    random,
  );
  const crashing = new Set(goodIndexes.slice(0, opts.crashes));
  const stalling = new Set(goodIndexes.slice(opts.crashes, opts.crashes + opts.stalls));
  const late = new Set(shuffle([...goodIndexes], random).slice(0, opts.lateCopies));
  const events: SoakEvent[] = remaining.map((object, n) => {
    const version = (nextVersion.get(object) ?? 0) + 1;
    nextVersion.set(object, version);
    const type =
      object.type === 'account' ? 'account.updated' : INTENT_STEPS[Math.min(version - 1, INTENT_STEPS.length - 1)]![0];
    const id = `evt_soak${run}_${n}`;
    return {
      id,
      type,
      object,
      version,
      deliveries: 1 + (random() < 0.25 ? 1 : 0) + (random() < 0.08 ? 1 : 0),
      late: late.has(n),
      crashAfterPublish: crashing.has(n),
      stall: stalling.has(n),
      body: {
        id,
        object: 'event',
        api_version: '2025-09-30.clover',
        created,
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type,
        ...(object.account ? { account: object.account } : {}),
        data: { object: objectAt(object, version) },
      },
    };
  });

  // Deliveries: the first one in the burst the event is created in; retries and late copies in later bursts.
  const burstCount = Math.ceil(events.length / opts.burstSize);
  const perBurst: SoakDelivery[][] = Array.from({ length: burstCount + 4 }, () => []);
  events.forEach((event, n) => {
    const first = Math.floor(n / opts.burstSize);
    perBurst[first]!.push({ event, kind: 'webhook' });
    for (let d = 1; d < event.deliveries; d++) {
      perBurst[first + Math.floor(random() * 4)]!.push({ event, kind: 'webhook' });
    }
    if (event.late) perBurst[first + 1 + Math.floor(random() * 3)]!.push({ event, kind: 'late' });
  });
  const bursts: SoakBurst[] = perBurst.map((deliveries, b) => ({
    changes: events.slice(b * opts.burstSize, (b + 1) * opts.burstSize),
    deliveries: shuffle(deliveries, random),
  }));
  return { seed: opts.seed, accounts, objects, events, bursts };
}
