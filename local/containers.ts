/**
 * Lambda's execution environments ("containers"), as the local runtime plays them, so that whatever the processor
 * keeps in module state is exercised the way AWS exercises it:
 *
 * - each concurrent execution slot runs one container at a time, and a container runs one invocation at a time;
 * - a container is built by the factory on its slot's first invocation and again after it was retired (a cold
 *   start): the factory builds what a Lambda's module scope would (its own clients, caches and processor);
 * - a batch goes to a free slot: the one idle longest, so consecutive batches of one FIFO group (one Stripe object)
 *   land on different containers whenever more than one is free, the case that per-container state must survive;
 * - a container is retired after `maxInvocations` invocations (Lambda recycles environments now and then), and after
 *   an invocation that timed out or threw (Lambda resets an environment whose invocation timed out or crashed);
 * - a container retired after `maxInvocations` is closed once its last invocation has settled; one retired after a
 *   timeout or a crash is abandoned as Lambda abandons it, and closed only `abandonedCloseMs` later: locally its work
 *   may still be in flight (the runtime cannot kill a promise, see poller.ts), and cutting its connections at once
 *   would turn a write that reached the server into one its caller saw fail. Memory stays bounded either way.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** The part of Lambda's `Context` the processor uses, plus the container's log stream. */
export interface InvocationContext {
  readonly awsRequestId: string;
  readonly functionName: string;
  /** One per container, as in Lambda (where each execution environment writes its own log stream). */
  readonly logStreamName: string;
  getRemainingTimeInMillis(): number;
}

export type BatchHandler = (event: SQSEvent, context: InvocationContext) => Promise<SQSBatchResponse | undefined>;

/** Which container a factory is building. */
export interface ContainerInfo {
  /** Like a Lambda log stream name: unique per container (slot and generation). */
  readonly id: string;
  /** The execution slot, 0 .. slots - 1. */
  readonly slot: number;
}

/** What a factory builds: the function's handler over its own module state. */
export interface ContainerInstance {
  readonly handle: BatchHandler;
  /** Frees what the container holds (its clients), once it is retired and idle. */
  close?(): void | Promise<void>;
}

export type ContainerFactory = (info: ContainerInfo) => ContainerInstance;

export interface ContainerPoolOptions {
  /** Concurrent executions (the event source mapping's maximum concurrency). */
  readonly slots: number;
  readonly create: ContainerFactory;
  /** Invocations a container serves before it is retired. @default DEFAULT_MAX_INVOCATIONS */
  readonly maxInvocations?: number;
  /** How long an abandoned container (timed out, crashed) is left before it is closed. @default 60000 */
  readonly abandonedCloseMs?: number;
}

/** A container lent out for one invocation. */
export interface ContainerLease {
  readonly info: ContainerInfo;
  readonly handle: BatchHandler;
  /** True when this invocation built the container. */
  readonly coldStart: boolean;
  /**
   * Gives the slot back. `healthy` false (timed out, threw) retires and abandons the container; `settled` resolves
   * when the invocation's own work has ended, after which a container retired for its age is closed.
   */
  release(healthy: boolean, settled: Promise<unknown>): void;
}

export interface ContainerPoolStats {
  coldStarts: number;
  retired: number;
}

export interface ContainerPool {
  readonly stats: Readonly<ContainerPoolStats>;
  /** The free slot idle longest, with its container; throws when every slot is busy (callers hold one each). */
  acquire(): ContainerLease;
  /** Closes every container still in a slot, and waits (a little) for the closes owed to retired ones. */
  close(): Promise<void>;
}

/** Often enough that a soak sees many cold starts, rarely enough that module state lives across many batches. */
export const DEFAULT_MAX_INVOCATIONS = 25;

interface Slot {
  readonly index: number;
  generation: number;
  container: (ContainerInstance & { info: ContainerInfo; invocations: number }) | undefined;
}

export function createContainerPool(opts: ContainerPoolOptions): ContainerPool {
  // 0 slots: nothing is processed (a test that wants the queue left alone).
  if (!Number.isInteger(opts.slots) || opts.slots < 0) throw new Error(`slots must be 0 or more, got ${opts.slots}`);
  const maxInvocations = opts.maxInvocations ?? DEFAULT_MAX_INVOCATIONS;
  const stats: ContainerPoolStats = { coldStarts: 0, retired: 0 };
  /** Free slots, the one idle longest first. */
  const free: Slot[] = Array.from({ length: opts.slots }, (_, index) => ({
    index,
    generation: 0,
    container: undefined,
  }));
  /** Closes still owed: retired containers whose invocation had not settled yet. */
  const closing = new Set<Promise<void>>();
  const busy = new Set<Slot>();
  /** Abandoned containers waiting for abandonedCloseMs before they are closed. */
  const abandoned = new Map<NodeJS.Timeout, ContainerInstance>();

  function abandon(container: ContainerInstance): void {
    const timer = setTimeout(() => {
      abandoned.delete(timer);
      closeLater(container, Promise.resolve());
    }, opts.abandonedCloseMs ?? 60_000);
    timer.unref();
    abandoned.set(timer, container);
  }

  function closeLater(container: ContainerInstance, settled: Promise<unknown>): void {
    const done: Promise<void> = settled
      .catch(() => undefined)
      .then(() => container.close?.())
      .catch(() => undefined)
      .finally(() => closing.delete(done));
    closing.add(done);
  }

  return {
    stats,
    acquire() {
      const slot = free.shift();
      if (!slot) throw new Error('no free execution slot: a caller holds more than one');
      busy.add(slot);
      let coldStart = false;
      if (!slot.container) {
        slot.generation += 1;
        const info: ContainerInfo = { id: `slot${slot.index}/gen${slot.generation}`, slot: slot.index };
        slot.container = { ...opts.create(info), info, invocations: 0 };
        stats.coldStarts += 1;
        coldStart = true;
      }
      const container = slot.container;
      container.invocations += 1;
      let released = false;
      return {
        info: container.info,
        handle: container.handle,
        coldStart,
        release(healthy, settled) {
          if (released) return;
          released = true;
          busy.delete(slot);
          if (!healthy || container.invocations >= maxInvocations) {
            slot.container = undefined;
            stats.retired += 1;
            if (healthy) closeLater(container, settled);
            else abandon(container);
          }
          free.push(slot);
        },
      };
    },
    async close() {
      for (const [timer, container] of abandoned) {
        clearTimeout(timer);
        closeLater(container, Promise.resolve());
      }
      abandoned.clear();
      for (const slot of [...free, ...busy]) {
        if (slot.container) closeLater(slot.container, Promise.resolve());
        slot.container = undefined;
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...closing]),
        new Promise((r) => {
          timer = setTimeout(r, 1_000);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
