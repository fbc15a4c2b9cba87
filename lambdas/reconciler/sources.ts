/**
 * Where the reconciler lists events from, slice by slice, under one lock, checkpoint and pacer:
 * - the platform's classic events (`GET /v1/events`);
 * - each connected account's classic events (`GET /v1/events` with `Stripe-Account`): the platform's own list does
 *   not hold them, and a Connect webhook that was never delivered is otherwise lost. The accounts are listed once per
 *   run (`GET /v1/accounts`);
 * - thin events (`GET /v2/core/events`), which the v1 list does not hold.
 *
 * Event types (exact names, `*` = all) are split between the two lists by their form (`v1.`/`v2.` names are thin):
 * a list with no type of its kind configured is not read at all. Up to 20 types are filtered by Stripe, more here.
 */
import type Stripe from 'stripe';
import {
  listConnectedAccounts,
  listEventPages,
  listThinEventPages,
  MAX_EVENT_TYPES,
  type PacedCallOptions,
} from '../shared/stripe-events';
import { reconcilerEnv } from './env';

export interface EventSource {
  /** For logs: `platform`, `account acct_...`, `thin events`. */
  readonly name: string;
  /** The events of `[createdGte, createdLt)`, page by page, already filtered by type. */
  pages(slice: { createdGte: number; createdLt: number }): AsyncGenerator<Array<Record<string, unknown>>>;
}

export interface SourceSettings {
  /** Exact event types; empty or containing `*` = every type. */
  readonly eventTypes?: readonly string[];
  /** Reconcile connected accounts' events too. @default - CONNECTED_ACCOUNTS's default (./env.ts) */
  readonly connectedAccounts?: boolean;
  /** Reconcile thin events too. @default - THIN_EVENTS's default (./env.ts) */
  readonly thinEvents?: boolean;
}

const THIN_TYPE = /^v\d+\./;

/** The sources of one run (lists the connected accounts, paced, when they are reconciled). */
export async function eventSources(
  stripe: Stripe,
  call: PacedCallOptions,
  settings: SourceSettings,
): Promise<EventSource[]> {
  const all = !settings.eventTypes || settings.eventTypes.length === 0 || settings.eventTypes.includes('*');
  const classic = filterFor(all ? [] : (settings.eventTypes ?? []).filter((t) => !THIN_TYPE.test(t)));
  const thin = filterFor(all ? [] : (settings.eventTypes ?? []).filter((t) => THIN_TYPE.test(t)));
  const sources: EventSource[] = [];
  if (all || classic.wanted) {
    const classicSource = (account: string | undefined): EventSource => ({
      name: account ? `account ${account}` : 'platform',
      async *pages(slice) {
        const query = {
          ...slice,
          ...(classic.server ? { types: classic.server } : {}),
          ...(account ? { account } : {}),
        };
        for await (const page of listEventPages(stripe, query, call)) {
          // An account's events carry `account`; set it if a list left it out, so the processor fetches on it.
          yield classic
            .keep(page as unknown as Array<Record<string, unknown>>)
            .map((e) => (account && !e.account ? { ...e, account } : e));
        }
      },
    });
    sources.push(classicSource(undefined));
    if (settings.connectedAccounts ?? reconcilerEnv.CONNECTED_ACCOUNTS.default) {
      for (const account of await listConnectedAccounts(stripe, call)) sources.push(classicSource(account));
    }
  }
  if ((settings.thinEvents ?? reconcilerEnv.THIN_EVENTS.default) && (all || thin.wanted)) {
    sources.push({
      name: 'thin events',
      async *pages(slice) {
        const query = { ...slice, ...(thin.server ? { types: thin.server } : {}) };
        for await (const page of listThinEventPages(stripe, query, call)) yield thin.keep(page);
      },
    });
  }
  return sources;
}

/** How one list filters on `types`: by Stripe (up to 20), here (more), or not at all (none given). */
function filterFor(types: readonly string[]) {
  const local = types.length > MAX_EVENT_TYPES ? new Set(types) : undefined;
  return {
    wanted: types.length > 0,
    server: types.length > 0 && !local ? types : undefined,
    keep: <E extends { type?: unknown }>(page: E[]): E[] =>
      local ? page.filter((e) => local.has(String(e.type))) : page,
  };
}
