/**
 * Every alarm's runbook link lands on a section of docs/runbooks.md, and the runbooks use the ops CLI and the log
 * fields by the names the code really has.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALARM_RUNBOOK_ANCHORS } from '../../lib/constructs/alarms';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

const runbooks = readFileSync(join(PROJECT_ROOT, 'docs/runbooks.md'), 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation other than `-` and `_` dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchors = [...runbooks.matchAll(/^#{2,3} (.+)$/gm)].map((m) => slug(m[1]!));

/** The text of the section whose heading has `anchor`. */
function section(anchor: string): string {
  const parts = runbooks.split(/^## /m);
  return parts.find((p) => slug(p.split('\n')[0]!) === anchor) ?? '';
}

describe('docs/runbooks.md', () => {
  it.each(ALARM_RUNBOOK_ANCHORS)('has a section #%s that says what it means, how to diagnose and fix it', (anchor) => {
    expect(anchors).toContain(anchor);
    const text = section(anchor);
    expect(text.length, anchor).toBeGreaterThan(400);
    expect(text, anchor).toMatch(/```/); // an exact command or query
    expect(text, anchor).toMatch(/Fix/);
  });

  it('links only to sections that exist', () => {
    const links = [...runbooks.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) expect(anchors, link).toContain(link);
  });

  it('uses the ops CLI commands by their names, and links the operations, rotation and multi-region docs', () => {
    for (const command of [
      'npm run ops -- dlq list',
      'npm run ops -- dlq redrive',
      'npm run ops -- replay --since',
      'npm run ops -- event evt_',
      '--force',
    ]) {
      expect(runbooks).toContain(command);
    }
    for (const doc of ['runbook-operations.md', 'rotation.md', 'multi-region.md']) {
      expect(runbooks).toContain(`](${doc})`);
    }
  });

  it('queries the log fields the Lambdas write', () => {
    const core = [
      'lambdas/ingress/core.ts',
      'lambdas/processor/core.ts',
      'lambdas/processor/process-record.ts',
      'lambdas/processor/outcomes.ts',
    ]
      .map((f) => readFileSync(join(PROJECT_ROOT, f), 'utf8'))
      .join('\n');
    for (const field of ['eventId', 'eventType', 'sqsMessageId', 'messageId', 'apiRequestId', 'sourceIp', 'code']) {
      expect(runbooks).toContain(field);
      expect(core).toMatch(new RegExp(`\\b${field}\\b`));
    }
    // Every quoted log message the runbooks filter on is one the code writes.
    const messages = [...runbooks.matchAll(/message (?:=|in \[) ?"([^"]+)"/g)].map((m) => m[1]!);
    const reconciler = 'missed event enqueued'; // written by the reconciler (lambdas/reconciler)
    const writers = ['lambdas/rotation/replication/core.ts', 'lambdas/processor/handler-lambdas.ts']
      .map((f) => readFileSync(join(PROJECT_ROOT, f), 'utf8'))
      .concat(core)
      .join('\n');
    for (const message of messages.filter((m) => m !== reconciler)) expect(writers, message).toContain(`'${message}'`);
  });
});
