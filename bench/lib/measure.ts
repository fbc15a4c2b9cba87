/**
 * Throughput measurement: operations per second of a function, A/B-interleaved.
 *
 * Hand-written rather than tinybench or `vitest bench`: tinybench is not a direct dependency (no installs here), and
 * vitest's bench mode would put the bench inside the test runner. What is needed is small: warm up, then alternate
 * the variants in short rounds (so CPU frequency changes and other load on a shared machine hit every variant alike)
 * and keep each variant's median round.
 *
 * Rates are operations per CPU-second of this process by default: on a shared machine a process waits for a CPU now
 * and then, which wall-clock rates would count against whichever variant happened to be running.
 */
import { median } from './stats';

/** A variant to measure: sync or async; it is awaited only when it returns a promise. */
export type Operation = () => unknown;

export interface MeasureOptions {
  /** Rounds per variant; the median round is reported. @default 7 */
  readonly rounds?: number;
  /** Length of one round, milliseconds. @default 250 */
  readonly roundMs?: number;
  /** Warm-up per variant before the first round (JIT, caches), milliseconds. @default 200 */
  readonly warmupMs?: number;
  /** Divide by the CPU time this process used (`cpu`) or by elapsed time (`wall`). @default 'cpu' */
  readonly clock?: 'cpu' | 'wall';
}

/** Operations per second of each variant (median of its rounds), in the order given. */
export async function opsPerSecond(
  variants: Readonly<Record<string, Operation>>,
  opts: MeasureOptions = {},
): Promise<Record<string, number>> {
  const rounds = opts.rounds ?? 7;
  const roundMs = opts.roundMs ?? 250;
  const warmupMs = opts.warmupMs ?? 200;
  const clock = opts.clock ?? 'cpu';
  const names = Object.keys(variants);
  for (const name of names) await runFor(variants[name]!, warmupMs, clock);
  const samples = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    // Alternate the order too, so neither variant always runs right after the other one's garbage.
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples.get(name)!.push(await runFor(variants[name]!, roundMs, clock));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples.get(n)!)]));
}

/** Runs `op` back to back for about `ms` milliseconds of wall time; returns operations per (CPU or wall) second. */
async function runFor(op: Operation, ms: number, clock: 'cpu' | 'wall'): Promise<number> {
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(ms * 1e6));
  let n = 0;
  let elapsed = 0n;
  // Check the clock every few operations only: hrtime costs about as much as a tiny operation.
  let batch = 1;
  while (elapsed < budget) {
    for (let i = 0; i < batch; i++) {
      const out = op();
      if (out instanceof Promise) await out;
    }
    n += batch;
    elapsed = process.hrtime.bigint() - start;
    if (elapsed < budget / 100n) batch = Math.min(batch * 2, 1024);
  }
  if (clock === 'wall') return n / (Number(elapsed) / 1e9);
  const cpu = process.cpuUsage(cpuStart);
  return n / ((cpu.user + cpu.system) / 1e6);
}

/** Milliseconds taken by each call of `op`, run `count` times one after the other. */
export async function sequentialDurations(op: () => Promise<unknown>, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op();
    out.push(performance.now() - t0);
  }
  return out;
}
