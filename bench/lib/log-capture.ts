/**
 * Counts what the code under measurement writes to stdout (Powertools JSON log lines and EMF metric lines) instead of
 * printing it: the bench keeps the same logging work as in Lambda, and the byte counts feed the CloudWatch Logs
 * estimate. Lines are attributed to a function by the `service` key both Powertools Logger and Metrics write.
 */

/** Bytes and lines written per service name (`other` for lines without a known one). */
export interface LogTally {
  readonly bytes: Record<string, number>;
  readonly lines: Record<string, number>;
  /** Of `lines`, how many were EMF metric documents (they carry `_aws`; the rest are log lines). */
  readonly emfLines: Record<string, number>;
}

export interface StdoutCapture {
  /** What was counted so far. */
  tally(): LogTally;
  /** Puts the real stdout back; returns the final tally. */
  stop(): LogTally;
}

/**
 * Replaces `process.stdout.write` until `stop()`. Powertools' Console instances write through the same stream object,
 * so they are counted too. Anything else the process prints meanwhile is counted and dropped as well: print progress
 * to stderr while a capture runs.
 */
export function captureStdout(services: readonly string[]): StdoutCapture {
  const original = process.stdout.write;
  const bytes: Record<string, number> = {};
  const lines: Record<string, number> = {};
  const emfLines: Record<string, number> = {};
  let pending = '';

  const count = (line: string) => {
    const service = services.find((s) => line.includes(`"service":"${s}"`)) ?? 'other';
    bytes[service] = (bytes[service] ?? 0) + Buffer.byteLength(line, 'utf8') + 1;
    lines[service] = (lines[service] ?? 0) + 1;
    if (line.includes('"_aws":{')) emfLines[service] = (emfLines[service] ?? 0) + 1;
  };

  process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      if (line.trim() !== '') count(line);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
    }
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    callback?.();
    return true;
  }) as typeof process.stdout.write;

  const snapshot = (): LogTally => ({ bytes: { ...bytes }, lines: { ...lines }, emfLines: { ...emfLines } });
  return {
    tally: snapshot,
    stop() {
      process.stdout.write = original;
      if (pending.trim() !== '') count(pending);
      pending = '';
      return snapshot();
    },
  };
}
