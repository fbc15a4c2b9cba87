/**
 * CDK's cross-region references (`crossRegionReferences: true`) carry the Route 53 health check ids to the us-east-1
 * stack that alarms on them: the producing stack writes them to SSM parameters in us-east-1 through a custom
 * resource (`Custom::CrossRegionExportWriter`), the consuming stack reads them with dynamic references and marks them
 * in use (`Custom::CrossRegionExportReader`). aws-cdk-lib's own, well-kept machinery, preferred to a hand-written
 * lookup. One thing is added to it here: a `ServiceTimeout` on both custom resources, so CloudFormation gives up after 15 minutes rather than an hour if
 * their handler ever fails to answer. (cdk-nag reports nothing on CDK's provider functions.)
 *
 * CDK creates these resources while it resolves references, after aspects have run, so the timeout is set from a
 * node validation, which CDK runs after that (and before it writes the templates).
 */
import { CfnResource, Stack } from 'aws-cdk-lib';

/** The longest CloudFormation waits for one of these custom resources to answer, seconds. */
export const CROSS_REGION_SERVICE_TIMEOUT_SECONDS = 900;

const RESOURCE_TYPES = new Set(['Custom::CrossRegionExportWriter', 'Custom::CrossRegionExportReader']);

function finish(stack: Stack): void {
  for (const child of stack.node.findAll()) {
    if (CfnResource.isCfnResource(child) && RESOURCE_TYPES.has(child.cfnResourceType)) {
      child.addPropertyOverride('ServiceTimeout', CROSS_REGION_SERVICE_TIMEOUT_SECONDS);
    }
  }
}

/** Completes CDK's cross-region reference resources of `stack` once CDK has created them (see the module comment). */
export function finishCrossRegionReferences(stack: Stack): void {
  stack.node.addValidation({
    validate: () => {
      finish(Stack.of(stack));
      return [];
    },
  });
}
