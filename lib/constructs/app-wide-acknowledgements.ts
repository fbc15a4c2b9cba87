/**
 * cdk-nag findings that follow from design decisions the whole app makes, acknowledged on every resource they apply
 * to (an Aspect, so a new function or log group is covered, with the same reason). Each reason says why the rule's
 * concern does not apply here; findings about one resource are acknowledged where that resource is built.
 */
import { CfnResource, type IAspect, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Why, per resource type and rule (PCI DSS 3.2.1 pack). */
export const APP_WIDE_ACKNOWLEDGEMENTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'AWS::Logs::LogGroup': {
    'PCI.DSS.321-CloudWatchLogGroupEncrypted':
      'No cardholder data reaches a log: the Lambdas log ids, types, reasons and timings, never a body, signature, ' +
      'secret or fetched object (tests check it), and the access logs hold request metadata only. CloudWatch Logs ' +
      'encrypts at rest with its own keys; a customer-managed key per log group would add cost and a failure mode ' +
      '(a key policy mistake silently drops logs) for no protected data.',
  },
  'AWS::IAM::Policy': {
    'PCI.DSS.321-IAMNoInlinePolicy':
      'Each role belongs to one function or service and its policy is generated with the grants of exactly the ' +
      'resources that function uses (one queue, one table, one secret); a managed policy would hold the same ' +
      'statements, only be attachable to other principals. The least-privilege test checks every statement.',
  },
  'AWS::Lambda::Function': {
    'PCI.DSS.321-LambdaInsideVPC':
      'The functions reach only AWS service endpoints and the Stripe API, over TLS, and hold no network-reachable ' +
      'state; a VPC would add NAT gateways (cost, a single point of failure for the Stripe calls) and cold-start ' +
      'latency without isolating anything. Cardholder data stays in Stripe.',
  },
};

/** Acknowledges APP_WIDE_ACKNOWLEDGEMENTS on every resource of those types below the scope it is added to. */
export class AppWideAcknowledgements implements IAspect {
  visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node)) return;
    for (const [id, reason] of Object.entries(APP_WIDE_ACKNOWLEDGEMENTS[node.cfnResourceType] ?? {})) {
      Validations.of(node).acknowledge({ id, reason });
    }
  }
}

/**
 * The partition as cdk-nag spells it in a finding: the literal (`aws`) when the stack's region is known and the
 * `@aws-cdk/core:enablePartitionLiterals` flag (cdk.json) writes it so, else the `<AWS::Partition>` reference.
 */
export function nagPartition(scope: IConstruct): string {
  const partition = Stack.of(scope).partition;
  return Token.isUnresolved(partition) ? '<AWS::Partition>' : partition;
}
