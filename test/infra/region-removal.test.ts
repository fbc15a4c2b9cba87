/**
 * Removing a secondary region, as docs/multi-region.md tells it, against what CloudFormation and DynamoDB refuse:
 * deleting a global table replica whose deletion protection is on, and deleting a stack with termination protection.
 *
 * - the naive way (drop the region from secondaryRegions and deploy) is refused;
 * - step 1 (`removingRegions`) changes only that replica's protection and the standby stack's termination protection;
 * - step 2 (the region gone from both lists) then deletes an unprotected replica, and the standby stack can go.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { NO_BUNDLING } from './helpers';

interface Replica {
  Region: string;
  DeletionProtectionEnabled?: boolean;
}

const base = { account: '123456789012', removalPolicy: 'retain' };

/** The app of `input`: each stack's name, termination protection and the global table's replicas (primary). */
function deployment(input: object) {
  const { stacks } = buildApp(new App({ context: NO_BUNDLING }), parseConfig({ ...base, ...input }));
  const table = Object.values(
    Template.fromStack(stacks[0]!).findResources('AWS::DynamoDB::GlobalTable') as Record<
      string,
      { Properties: { Replicas: Replica[] } }
    >,
  )[0]!;
  return {
    stacks: Object.fromEntries(stacks.map((s) => [s.stackName, { terminationProtection: s.terminationProtection }])),
    replicas: table.Properties.Replicas,
  };
}

type Deployment = ReturnType<typeof deployment>;

/**
 * What CloudFormation refuses when the app goes from `deployed` to `next`: a removed replica still protected (as
 * deployed), and a stack that leaves the app (to be deleted) with termination protection on.
 */
function refusals(deployed: Deployment, next: Deployment): string[] {
  const problems: string[] = [];
  for (const replica of deployed.replicas) {
    const kept = next.replicas.some((r) => r.Region === replica.Region);
    if (!kept && replica.DeletionProtectionEnabled) {
      problems.push(`replica ${replica.Region}: deletion protection is enabled`);
    }
  }
  for (const [name, stack] of Object.entries(deployed.stacks)) {
    if (!(name in next.stacks) && stack.terminationProtection) problems.push(`stack ${name}: termination protection`);
  }
  return problems;
}

describe('removing the secondary region us-west-2', () => {
  const running = deployment({ secondaryRegions: ['us-west-2'] });

  it('in one step (drop it from the config and deploy) is refused: its replica is protected', () => {
    expect(refusals(running, deployment({}))).toEqual([
      'replica us-west-2: deletion protection is enabled',
      'stack stripe-webhooks-us-west-2: termination protection',
    ]);
  });

  it('in two steps goes through: removingRegions unprotects exactly that replica and stack, then it can go', () => {
    const step1 = deployment({ secondaryRegions: ['us-west-2'], removingRegions: ['us-west-2'] });
    expect(refusals(running, step1)).toEqual([]);
    // Nothing else changes in step 1: the primary's own replica and stack stay protected.
    expect(step1.replicas).toEqual([
      expect.objectContaining({ Region: 'us-west-2', DeletionProtectionEnabled: false }),
      expect.objectContaining({ Region: 'us-east-1', DeletionProtectionEnabled: true }),
    ]);
    expect(step1.stacks['stripe-webhooks-us-east-1']?.terminationProtection).toBe(true);

    const step2 = deployment({});
    expect(refusals(step1, step2)).toEqual([]);
    expect(step2.replicas.map((r) => r.Region)).toEqual(['us-east-1']);
  });

  it('refuses a removingRegions entry that is not a secondary region, saying what to do', () => {
    expect(() => parseConfig({ removingRegions: ['us-west-2'] })).toThrow(
      /removingRegions\.0: must be one of secondaryRegions .*drop it here too/,
    );
  });
});
