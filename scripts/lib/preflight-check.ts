/** What every preflight check is made of (scripts/lib/preflight.ts runs them): its result, its clients, helpers. */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import type Stripe from 'stripe';

/** One check's outcome. */
export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** What was found. */
  readonly detail: string;
  /** With a problem: what to do. */
  readonly fix?: string;
}

/** A regional stack of the synthesized app, as far as the checks need it. */
export interface PlannedStack {
  readonly stackName: string;
  readonly region: string;
  /** The CDK bootstrap version its template asks for. */
  readonly requiresBootstrapStackVersion?: number;
}

type ClientClass<C> = new (config: { region: string }) => C;

export interface PreflightDeps {
  /** Makes (or reuses) an AWS client for a region. */
  client<C>(Class: ClientClass<C>, region: string): C;
  /** A Stripe client for an API key (the endpoint count). */
  stripeFor(apiKey: string): Stripe;
}

/** The AWS SDK's "no credentials" failure, whatever provider raised it. */
export function isCredentialsError(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? '';
  return name === 'CredentialsProviderError' || /Could not load credentials/i.test(String((err as Error)?.message));
}

export const errorName = (err: unknown) => (err as { name?: string } | null)?.name ?? '';
export const ok = (check: string, detail: string): CheckResult => ({ check, ok: true, detail });
export const problem = (check: string, detail: string, fix: string): CheckResult => ({ check, ok: false, detail, fix });

/** A stack's description, or undefined when there is none. */
export async function stackStatus(deps: PreflightDeps, region: string, stackName: string) {
  try {
    const out = await deps
      .client(CloudFormationClient, region)
      .send(new DescribeStacksCommand({ StackName: stackName }));
    return out.Stacks?.[0];
  } catch (err) {
    if (errorName(err) === 'ValidationError' || /does not exist/.test(String(err))) return undefined;
    throw err;
  }
}
