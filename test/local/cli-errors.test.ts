/**
 * Every command-line entry point ends an error with one clear line that says what to do, never a stack trace;
 * `--debug` shows the trace. The shared runner is tested directly, then the real commands are run as a user runs
 * them (node with tsx, no AWS credentials or region, no network) for the cases that used to print a stack.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { CliError, describeCliError, runCli, UsageError } from '../../scripts/cli';
import { closedPort } from '../ingress/helpers';

/**
 * Runs a project script as `npm run <script>` would (node + tsx) with no AWS settings and `input` on stdin; returns
 * its exit code and output.
 */
function command(script: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...opts.env };
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, script), ...args], {
    cwd: PROJECT_ROOT,
    env,
    timeout: 60_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(opts.input ?? '');
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
}

const STACK_LINE = /^\s+at /m;

describe('describeCliError', () => {
  it('turns the AWS SDK missing-credentials error into what to configure', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(describeCliError(err)).toMatch(/^no AWS credentials found; configure a profile .*AWS_ACCESS_KEY_ID/);
  });

  it('turns a missing region into the flag and variable that set it', () => {
    expect(describeCliError(new Error('Region is missing'))).toBe(
      'no AWS region given; pass --region <region> or set AWS_REGION',
    );
  });

  it('names the host and the network error when a server cannot be reached', () => {
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND stripe.com'), {
      code: 'ENOTFOUND',
      hostname: 'stripe.com',
    });
    const err = new TypeError('fetch failed', { cause });
    expect(describeCliError(err)).toBe(
      'could not reach stripe.com (ENOTFOUND); check the network connection, proxy or address',
    );
  });

  it("keeps an AWS service error's name, and a CliError's fix after its message", () => {
    const sdk = Object.assign(new Error("Secrets Manager can't find the specified secret."), {
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(describeCliError(sdk)).toBe("ResourceNotFoundException: Secrets Manager can't find the specified secret.");
    expect(describeCliError(new CliError('port 3000 is in use', 'start it with PORT=3001'))).toBe(
      'port 3000 is in use; start it with PORT=3001',
    );
  });
});

describe('runCli', () => {
  it('prints one line without a stack for any error, and exit code 2 for bad usage, 1 otherwise', async () => {
    const lines: string[] = [];
    const io = { err: (t: string) => lines.push(t) };
    expect(await runCli(async () => Promise.reject(new Error('boom\nsecond line')), [], io)).toBe(1);
    expect(await runCli(async () => Promise.reject(new UsageError('--x is unknown', 'see --help')), [], io)).toBe(2);
    expect(lines).toEqual(['error: boom (--debug shows the stack trace)', 'error: --x is unknown; see --help']);
  });

  it('adds the stack of the error and of what caused it with --debug, and hides --debug from the command', async () => {
    const lines: string[] = [];
    let seen: string[] = [];
    const code = await runCli(
      async (argv) => {
        seen = argv;
        throw new CliError('could not fetch', undefined, 1, new Error('socket hang up'));
      },
      ['--debug', '--port', '1'],
      { err: (t) => lines.push(t) },
    );
    expect(code).toBe(1);
    expect(seen).toEqual(['--port', '1']);
    expect(lines[0]).toBe('error: could not fetch');
    expect(lines[1]).toMatch(STACK_LINE);
    expect(lines[2]).toMatch(/^caused by: Error: socket hang up\n\s+at /);
  });

  it('returns the exit code the command returns', async () => {
    expect(await runCli(async () => 3, [], { err: () => undefined })).toBe(3);
    expect(await runCli(async () => undefined, [], { err: () => undefined })).toBe(0);
  });
});

describe('the commands, as a user runs them', () => {
  it('reconcile --help prints the usage and exits 0', async () => {
    const r = await command('local/reconcile.ts', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run reconcile -- \[options\]/);
    expect(r.stdout).toContain('--port <port> | --url <url>');
  });

  it('stage-api-key without a region says how to give one, before asking for the key', async () => {
    const r = await command('scripts/stage-api-key.ts', ['--secret-id', 'stripe-webhooks/stripe-api-key']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'error: no AWS region given; pass --region <region> (the primary region) or set AWS_REGION',
    );
    expect(r.stderr).not.toContain('Paste the new key');
  });

  it('stage-api-key without credentials says which to configure, in one line', async () => {
    const r = await command('scripts/stage-api-key.ts', ['--secret-id', 'x', '--region', 'eu-west-1'], {
      env: { AWS_EC2_METADATA_DISABLED: 'true' },
      input: 'rk_test_aNewKeyToStage0000\n',
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^error: no AWS credentials found; configure a profile .* \(--debug shows the stack trace\)$/,
    );
  });

  it('refresh-stripe-ips without network says so in one line and leaves the list as it is', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/ips_webhooks.json`;
    const r = await command('scripts/refresh-stripe-ips.ts', ['--url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'error: could not reach 127.0.0.1 (ECONNREFUSED); check the network connection, proxy or address; lib/stripe-webhook-ips.json left unchanged',
    );
    const debug = await command('scripts/refresh-stripe-ips.ts', ['--url', url, '--debug']);
    expect(debug.stderr).toMatch(STACK_LINE);
    expect(debug.stderr).toContain('caused by: TypeError: fetch failed');
  });

  it('ops names what is missing when neither a local pipeline nor a stack is given', async () => {
    const r = await command('ops/cli.ts', ['dlq', 'list', '--port', String(await closedPort())]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^error: no local pipeline is running on port \d+; start it with `npm start`$/);
  });
});
