/**
 * `.local/runtime-<port>.json`: how `npm run demo`, `npm run reconcile` and the operator CLI find a running
 * `npm start`. One file per instance, keyed by its port, so two instances (`PORT=3300 npm start` beside the default)
 * never overwrite or delete each other's file. A command picks one with `--port` or `--url`; with several running and
 * none picked it lists them and asks (UsageError).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { positivePort, UsageError } from '../scripts/cli';
import { processAlive } from './parent-watch';
import { LOCAL_WEBHOOK_SECRET, type LocalPipeline } from './pipeline';

/** Where the runtime files live. */
export const RUNTIME_DIR = '.local';

/** The runtime file of the instance listening on `port`. */
export function runtimeFile(port: number, dir = RUNTIME_DIR): string {
  return join(dir, `runtime-${port}.json`);
}

const RUNTIME_FILE_NAME = /^runtime-(\d+)\.json$/;

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

async function answersHealth(info: RuntimeInfo): Promise<boolean> {
  try {
    const res = await fetch(`${info.url}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Every local pipeline that has a runtime file and answers its health check, by port. A file whose process is gone
 * (killed without a chance to clean up) is removed on the way.
 */
export async function listRunningPipelines(dir = RUNTIME_DIR): Promise<RuntimeInfo[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const files = names.filter((n) => RUNTIME_FILE_NAME.test(n)).sort();
  const found = await Promise.all(
    files.map(async (name): Promise<RuntimeInfo | undefined> => {
      const path = join(dir, name);
      let info: RuntimeInfo;
      try {
        info = JSON.parse(await readFile(path, 'utf8')) as RuntimeInfo;
      } catch {
        return undefined;
      }
      if (await answersHealth(info)) return info;
      if (!processAlive(info.pid)) await rm(path, { force: true });
      return undefined;
    }),
  );
  return found.filter((i): i is RuntimeInfo => i !== undefined);
}

/** Which running pipeline a command should use: `--url`, `--port`, or the only one running. */
export interface PipelineChoice {
  readonly url?: string;
  readonly port?: number;
}

function portOf(url: string): number | undefined {
  try {
    const u = new URL(url);
    return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  } catch {
    return undefined;
  }
}

/** The choice `--url` and `--port` make on a command line. */
export function choiceFromFlags(flags: { url?: string | undefined; port?: string | undefined }): PipelineChoice {
  return {
    ...(flags.url ? { url: flags.url } : {}),
    ...(flags.port ? { port: positivePort(flags.port) } : {}),
  };
}

/** The port asked for by `--url` or `--port` (a UsageError when the two disagree or are malformed). */
export function chosenPort(choice: PipelineChoice): number | undefined {
  const fromUrl = choice.url === undefined ? undefined : portOf(choice.url);
  if (choice.url !== undefined && fromUrl === undefined) {
    throw new UsageError(`--url ${choice.url} is not a URL`, 'give it as http://127.0.0.1:<port>');
  }
  if (fromUrl !== undefined && choice.port !== undefined && fromUrl !== choice.port) {
    throw new UsageError(`--url and --port name different pipelines (${fromUrl} and ${choice.port})`, 'give one');
  }
  return fromUrl ?? choice.port;
}

/**
 * The running pipeline to use. With `--url`/`--port`: that one (undefined when it is not running). Without: the only
 * one running, or undefined when none is; with several it throws a UsageError that lists them.
 */
export async function findRunningPipeline(
  choice: PipelineChoice = {},
  dir = RUNTIME_DIR,
): Promise<RuntimeInfo | undefined> {
  const port = chosenPort(choice);
  const running = await listRunningPipelines(dir);
  if (port !== undefined) return running.find((info) => portOf(info.url) === port);
  if (running.length <= 1) return running[0];
  throw new UsageError(
    `${running.length} local pipelines are running: ${running.map((i) => `${i.url} (pid ${i.pid})`).join(', ')}`,
    `pick one with --port ${portOf(running[0]!.url)} or --url ${running[0]!.url}`,
  );
}

/** How a command says that the pipeline it looked for is not running, naming what it looked for. */
export function notRunningMessage(choice: PipelineChoice): string {
  const port = chosenPort(choice);
  return port === undefined
    ? `no running local pipeline found (${join(RUNTIME_DIR, 'runtime-<port>.json')})`
    : `no local pipeline is running on port ${port}`;
}
