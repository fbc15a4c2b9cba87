/** Shared set-up of the rotation and endpoint tests: quiet loggers, captured EMF metrics, Stripe clients. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { vi } from 'vitest';

export const APP = 'rotation-test';
export const API_KEY = 'sk_test_rotationCurrentKey0001';
export const WEBHOOK_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/stripe/webhook';
export const EVENTS = ['payment_intent.succeeded', 'charge.refunded'];
export const HOUR_MS = 3_600_000;
export const T0 = Date.parse('2026-11-01T12:00:00.000Z');

/** One EMF document (what Powertools Metrics prints). */
export interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

/** Everything a test's code writes to stdout/stderr: structured log lines and EMF metric documents. */
export class Output {
  readonly lines: string[] = [];

  /** Parsed JSON lines (logs and metrics). */
  json(): Record<string, unknown>[] {
    return this.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  /** EMF documents holding the metric `name`. */
  metrics(name: string): Emf[] {
    return (this.json() as unknown as Emf[]).filter((d) =>
      d._aws?.CloudWatchMetrics?.some((m) => m.Metrics.some((x) => x.Name === name)),
    );
  }

  /** Log lines at `level` (ERROR, WARN, INFO). */
  logs(level: string): Record<string, unknown>[] {
    return this.json().filter((d) => d.level === level);
  }
}

/**
 * Captures stdout and stderr from now until `restore` (Powertools writes metrics to stdout, WARN/ERROR logs to
 * stderr), and turns metrics on (vitest.config.ts disables them for the other tests).
 */
export function captureOutput(): { output: Output; restore: () => void } {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const output = new Output();
  const capture = (chunk: string | Uint8Array) => {
    output.lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  return {
    output,
    restore: () => {
      for (const spy of spies) spy.mockRestore();
      vi.unstubAllEnvs();
    },
  };
}

/** A logger that writes INFO and above (captured by captureOutput, or silent when `silent`). */
export function testLogger(silent = false): Logger {
  return new Logger({ serviceName: 'rotation-test', logLevel: silent ? 'SILENT' : 'INFO' });
}

/** Metrics as the rotation handlers build them (create after captureOutput, so metrics are on). */
export function testMetrics(): Metrics {
  return new Metrics({ namespace: 'StripeWebhooks', serviceName: 'rotation-test' });
}
