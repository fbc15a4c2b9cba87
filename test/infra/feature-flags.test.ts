/**
 * cdk.json sets every feature flag aws-cdk-lib currently recommends (else every synth warns that dozens are not
 * configured), with the documented exceptions kept on purpose (docs/deploy.md, "Feature flags").
 */
import { readFileSync } from 'node:fs';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';

const context = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** Flags set to another value than recommended, and why (each is explained in docs/deploy.md). */
const KEPT: Record<string, unknown> = {
  // Deployed multi-region apps use strong references (SSM export writer/reader); AWS documents going to "weak" in
  // two deploys ("both", then "weak"). Switching in one would break the update of an existing app.
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
};

describe('cdk.json feature flags', () => {
  it('sets every currently recommended flag: the recommended value, or a documented exception', () => {
    const missing = Object.keys(CURRENTLY_RECOMMENDED_FLAGS).filter((flag) => !(flag in context));
    expect(missing).toEqual([]);
    for (const [flag, recommended] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS)) {
      expect([flag, context[flag]]).toEqual([flag, flag in KEPT ? KEPT[flag] : recommended]);
    }
  });

  it('documents each exception', () => {
    const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    for (const flag of Object.keys(KEPT)) expect(doc).toContain(flag);
  });
});
