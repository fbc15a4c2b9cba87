/**
 * `.local/runtime.json`: how `npm run demo`, `npm run reconcile` and the operator CLI find a running `npm start`.
 */
import { readFile } from 'node:fs/promises';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline } from './pipeline';

export const RUNTIME_FILE = '.local/runtime.json';

/** What other local commands need to reach a running pipeline (no secrets unless it is the documented default). */
export interface RuntimeInfo {
  readonly pid: number;
  readonly url: string;
  readonly webhookUrl: string;
  readonly stripe: { readonly kind: string; readonly apiBase?: string };
  readonly sqsEndpoint: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly sinkFile?: string;
  /** Only when the documented local default is in use. */
  readonly webhookSecret?: string;
}

export function runtimeInfo(p: LocalPipeline, secretIsDefault: boolean): RuntimeInfo {
  return {
    pid: process.pid,
    url: p.url,
    webhookUrl: p.webhookUrl,
    stripe: p.stripe.kind === 'live' ? { kind: 'live' } : { kind: p.stripe.kind, apiBase: p.stripe.apiBase },
    sqsEndpoint: p.sqsEndpoint,
    queueUrl: p.queues.queueUrl,
    dlqUrl: p.queues.dlqUrl,
    dynamoEndpoint: p.dynamoEndpoint,
    tableName: p.tableName,
    ...(p.sinkFile ? { sinkFile: p.sinkFile } : {}),
    ...(secretIsDefault ? { webhookSecret: LOCAL_WEBHOOK_SECRET } : {}),
  };
}

/** The running pipeline's info, or undefined when none is written or it no longer answers its health check. */
export async function findRunningPipeline(file = RUNTIME_FILE): Promise<RuntimeInfo | undefined> {
  let info: RuntimeInfo;
  try {
    info = JSON.parse(await readFile(file, 'utf8')) as RuntimeInfo;
  } catch {
    return undefined;
  }
  try {
    const res = await fetch(`${info.url}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}
