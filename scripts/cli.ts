/**
 * How every command-line entry point of the project ends: an error is one clear line that says what went wrong and
 * what to do about it, never a stack trace, unless `--debug` (or `DEBUG=1`) asks for the trace.
 *
 * Used by `npm start`, `demo`, `reconcile`, `ops`, `stage-api-key`, `refresh-stripe-ips` and the other scripts, so
 * the same mistake (no AWS credentials, no region, no network) reads the same everywhere.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** An error a user can fix: its message is the whole story, and `fix` (when given) says how. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly fix?: string,
    /** 2 = bad usage, 1 = the command failed. */
    readonly exitCode = 1,
    /** The error this one explains (its stack is shown with --debug). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** Bad usage (an unknown flag, a missing argument): exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string, fix?: string) {
    super(message, fix, 2);
  }
}

const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** The one line an error is shown as: what went wrong, then (after "; ") how to fix it when that is known. */
export function describeCliError(err: unknown): string {
  if (err instanceof CliError) return err.fix ? `${err.message}; ${err.fix}` : err.message;
  if (!(err instanceof Error)) return String(err);
  const name = err.name;
  const message = firstLine(err.message);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return 'no AWS credentials found; configure a profile (`aws configure`, then AWS_PROFILE=...) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (/Region is missing/i.test(message)) return 'no AWS region given; pass --region <region> or set AWS_REGION';
  if (name === 'ExpiredTokenException' || name === 'ExpiredToken') {
    return 'the AWS credentials have expired; refresh them (e.g. `aws sso login`) and run the command again';
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException') {
    return `AWS refused the call (${name}): ${message}; check the account, region and the permissions of these credentials`;
  }
  const code = codeOf(err);
  if (code && NETWORK_CODES.has(code)) {
    const host = (err as { cause?: { hostname?: string; address?: string } }).cause;
    const where = host?.hostname ?? host?.address;
    return `could not reach ${where ?? 'the server'} (${code}); check the network connection, proxy or address`;
  }
  if (message === 'fetch failed' && err.cause instanceof Error)
    return `could not reach the server: ${firstLine(err.cause.message)}`;
  // An AWS service error carries its name (ResourceNotFoundException, ...): it says more than the message alone.
  if (name !== 'Error' && name !== 'TypeError' && (err as { $metadata?: unknown }).$metadata !== undefined) {
    return `${name}: ${message}`;
  }
  return message;
}

/** A TCP port given on the command line (`--port`). */
export function positivePort(value: string, flag = '--port'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag} must be a port number, got "${value}"`);
  return n;
}

/**
 * `parseArgs` with its errors as UsageErrors of one sentence (node's own message goes on about positionals).
 */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(message.split(/\.\s/)[0]!.replace(/\.$/, ''), help);
  }
}

/** Whether the arguments (or the environment) ask for stack traces. */
export function wantsDebug(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return argv.includes('--debug') || env.DEBUG === '1' || env.DEBUG === 'true';
}

/** The arguments without `--debug`, which every command accepts and none parses itself. */
export function withoutDebug(argv: readonly string[]): string[] {
  return argv.filter((a) => a !== '--debug');
}

/** The stack of an error and of each error it wraps (`cause`). */
function traces(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err; e instanceof Error && out.length < 5; e = e.cause) {
    out.push(`${out.length > 0 ? 'caused by: ' : ''}${e.stack ?? e.message}`);
  }
  return out;
}

/** A command: returns its exit code (anything else counts as 0) or throws. */
export type CliMain = (argv: string[]) => Promise<unknown>;

export interface CliIo {
  err(text: string): void;
}

/**
 * Runs a command's `main` and turns any error into one line on stderr (`error: ...`) and an exit code: the error's
 * own (`CliError.exitCode`), else 1. `main` may return an exit code. With `--debug` the stack follows the line.
 */
export async function runCli(
  main: CliMain,
  argv: readonly string[] = process.argv.slice(2),
  io: CliIo = { err: (t) => console.error(t) },
): Promise<number> {
  const debug = wantsDebug(argv);
  try {
    const code = await main(withoutDebug(argv));
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    // An error nobody foresaw says how to see more; a CliError is the whole story already.
    const hint = err instanceof CliError || debug ? '' : ' (--debug shows the stack trace)';
    io.err(`error: ${describeCliError(err)}${hint}`);
    if (debug) for (const line of traces(err)) io.err(line);
    return err instanceof CliError ? err.exitCode : 1;
  }
}

/** Whether the module at `metaUrl` is the script node was started with (also through a symlink). */
export function isMain(metaUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return metaUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return metaUrl === pathToFileURL(script).href;
  }
}

/** `if (isMain(import.meta.url)) runMain(main)`: runs the command and sets the process's exit code. */
export function runMain(main: CliMain): void {
  // The SDK's Node 20 end-of-support notice is not this command's business.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  void runCli(main).then((code) => {
    process.exitCode = code;
  });
}
