/**
 * `npm start` as a supervisor runs it: whichever process of the chain (npm, the shell npm runs the script in, node)
 * gets the signal, the pipeline stops, frees its port and removes its runtime file; a second instance on the same
 * port says which PORT to use; two instances on two ports each keep their own runtime file.
 *
 * Each test starts real `npm start` processes (about 3 s each), in their own process group so a failed test can
 * still kill whatever is left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { findRunningPipeline, listRunningPipelines, runtimeFile } from '../../local/runtime-info';
import { describeCliError } from '../../scripts/cli';
import { closedPort } from '../ingress/helpers';

const started: ChildProcess[] = [];

afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

interface Run {
  readonly npm: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

function npmStart(port: number): Run {
  const npm = spawn('npm', ['start'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'WARN',
      LOCAL_SINK_FILE: join('.local', `sink-${port}.jsonl`),
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(npm);
  let output = '';
  npm.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  npm.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, output: () => output, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `npm start` and waits until it serves; returns the node process's pid (from its runtime file). */
async function serving(port: number): Promise<{ run: Run; nodePid: number; file: string }> {
  const run = npmStart(port);
  const file = join(PROJECT_ROOT, runtimeFile(port));
  await until(`npm start on ${port} (output so far: ${run.output()})`, async () =>
    (await answers(port)) && existsSync(file) ? true : undefined,
  );
  const nodePid = (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid;
  return { run, nodePid, file };
}

async function expectStopped(port: number, nodePid: number, file: string): Promise<void> {
  await until('the node process to exit', () => (alive(nodePid) ? undefined : true), 15_000);
  expect(await answers(port)).toBe(false);
  expect(existsSync(file)).toBe(false);
}

describe('npm start under a supervisor', () => {
  it('stops when npm is sent SIGTERM (the shell in between dies without passing it on)', async () => {
    const port = await closedPort();
    const { run, nodePid, file } = await serving(port);
    expect(nodePid).not.toBe(run.npm.pid);
    process.kill(run.npm.pid!, 'SIGTERM');
    await expectStopped(port, nodePid, file);
  });

  it('stops when npm is killed outright (SIGKILL: nothing is relayed)', async () => {
    const port = await closedPort();
    const { run, nodePid, file } = await serving(port);
    process.kill(run.npm.pid!, 'SIGKILL');
    await expectStopped(port, nodePid, file);
  });

  it('stops when node itself is sent SIGTERM, and npm exits with it', async () => {
    const port = await closedPort();
    const { run, nodePid, file } = await serving(port);
    process.kill(nodePid, 'SIGTERM');
    await expectStopped(port, nodePid, file);
    expect(await run.exited).toBe(0);
  });
});

describe('two local instances', () => {
  it('a second npm start on a busy port says which PORT to use, and leaves the first one alone', async () => {
    const port = await closedPort();
    const first = await serving(port);
    const second = npmStart(port);
    expect(await second.exited).toBe(1);
    const lines = second
      .output()
      .split('\n')
      .filter((l) => l.startsWith('error:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^error: port ${port} is in use: another local pipeline \\(pid ${first.nodePid}\\) already serves .*; start this one with PORT=\\d+ npm start$`,
      ),
    );
    expect(second.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect(await answers(port)).toBe(true);
    expect(existsSync(first.file)).toBe(true);
  });

  it('each instance has its own runtime file; commands pick one by port and ask when several run', async () => {
    const [portA, portB] = [await closedPort(), await closedPort()];
    const a = await serving(portA);
    const b = await serving(portB);
    const dir = join(PROJECT_ROOT, '.local');
    const running = (await listRunningPipelines(dir)).map((i) => i.url);
    expect(running).toEqual(expect.arrayContaining([`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`]));
    expect((await findRunningPipeline({ port: portB }, dir))?.pid).toBe(b.nodePid);
    expect((await findRunningPipeline({ url: `http://127.0.0.1:${portA}` }, dir))?.pid).toBe(a.nodePid);
    const several = await findRunningPipeline({}, dir).catch((err: unknown) => describeCliError(err));
    expect(several).toMatch(/^\d+ local pipelines are running: .*; pick one with --port \d+ or --url http/);

    // Stopping one leaves the other's file and service in place.
    process.kill(b.nodePid, 'SIGTERM');
    await expectStopped(portB, b.nodePid, b.file);
    expect(existsSync(a.file)).toBe(true);
    expect((await findRunningPipeline({ port: portA }, dir))?.pid).toBe(a.nodePid);
  });
});
