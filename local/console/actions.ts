/**
 * The console's buttons: the same code as the CLI's `dlq redrive` and `replay --id` (ops/), against this
 * pipeline, answering one line to show on the page.
 */

import { redriveByHand } from '../../ops/dlq';
import { replayIds } from '../../ops/replay';
import { localTarget } from '../../ops/target';
import type { LocalPipeline } from '../pipeline';
import { runtimeInfo } from '../runtime-info';

/** As many as a local DLQ can sensibly hold: the button moves them all, like `dlq redrive` locally. */
const REDRIVE_MAX = 10_000;

export function consoleActions(pipeline: () => LocalPipeline): {
  redrive: () => Promise<string>;
  replay: (eventId: string) => Promise<string>;
} {
  const withTarget = async <T>(work: (t: ReturnType<typeof localTarget>) => Promise<T>): Promise<T> => {
    const target = localTarget(runtimeInfo(pipeline(), false));
    try {
      return await work(target);
    } finally {
      target.close();
    }
  };
  return {
    redrive: () =>
      withTarget(async (t) => {
        const report = await redriveByHand(t, REDRIVE_MAX);
        const skipped =
          report.skipped.length > 0 ? `, ${report.skipped.length} left (failed again during the run)` : '';
        return `redrive: ${report.moved.length} message(s) moved back to the event queue${skipped}`;
      }),
    replay: (eventId) =>
      withTarget(async (t) => {
        const report = await replayIds(t, [eventId]);
        const item = report.items[0];
        if (!item) return `replay ${eventId}: nothing done`;
        const what: Record<string, string> = {
          missed: 'enqueued (not in the table)',
          pending: 'enqueued (not DONE yet)',
          forced: 'enqueued (forced)',
          skipped: 'skipped: already DONE (the CLI has --force)',
          not_found: 'not found in Stripe',
          parked: 'parked on the DLQ (cannot be enqueued)',
        };
        return `replay ${eventId}: ${what[item.outcome] ?? item.outcome}`;
      }),
  };
}
