/**
 * An AWS WAF web ACL for the REST API variant of the ingress (WAF cannot attach to an HTTP API).
 *
 * Rules, cheapest first:
 * 1. `BodyTooLarge`: a `Content-Length` above the ingress limit is blocked (413) before the Lambda runs. WAF can
 *    inspect at most the first 8-64 KB of a body, so the rule reads the declared length instead; a request without
 *    one (chunked) is left to the Lambda, which enforces the same limit on the bytes it receives.
 * 2. `RateLimitPerIp`: one source address sending more than the limit per 5 minutes is blocked for a while. Stripe
 *    spreads deliveries over a dozen addresses, so the default (12000, 40 requests/s per address) sits far above the
 *    stage throttle's share per Stripe address.
 * 3. AWS managed rule groups: Amazon IP reputation list, core rule set, known bad inputs. Every rule of theirs that
 *    inspects the BODY only counts (`BODY_RULES`): a Stripe event carries customer-entered text (names, addresses,
 *    descriptions, metadata) that Stripe copies verbatim, so a customer typing `<script>`, `../../` or `${jndi:` into
 *    a checkout form would have every delivery of that event blocked until Stripe gives up after 3 days. The body is
 *    authenticated anyway: the Lambda verifies Stripe's HMAC over it before anything is enqueued, so a forged body
 *    gets nowhere. `SizeRestrictions_BODY` (8 KB) counts too: Stripe events are routinely larger, and rule 1
 *    enforces the real limit.
 * 4. `BodyRuleMatched`: counts the requests the counted injection rules matched (their labels), so they show in one
 *    metric (`metricBodyRuleMatches`) with an alarm (`waf-body-rule-matched`), without blocking anything.
 *
 * Every rule publishes CloudWatch metrics (`AWS/WAFV2`, `Rule=<metric name>`) and sampled requests, which the
 * runbook's "ingress 5xx/4xx" sections use to tell a WAF block from an application refusal.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG } from '../config';

/** Props of WebhookWebAcl. */
export interface WebhookWebAclProps {
  /** Name of the web ACL and prefix of its metric names. */
  readonly name: string;
  /** ARN of the resource to protect (a REST API stage: `Stage.stageArn`). */
  readonly resourceArn: string;
  /** Requests with a larger `Content-Length` are blocked with 413. */
  readonly maxBodyBytes: number;
  /** Requests one source IP may send per 5 minutes. @default - the config's `ingress.wafRateLimitPer5Minutes` */
  readonly rateLimitPer5Minutes?: number;
}

/** The managed rule groups, in evaluation order after the custom rules. */
export const MANAGED_RULE_GROUPS = [
  'AWSManagedRulesAmazonIpReputationList',
  'AWSManagedRulesCommonRuleSet',
  'AWSManagedRulesKnownBadInputsRuleSet',
] as const;

/**
 * The managed rules that inspect the request body, by rule group, with the label each adds to a request it matches
 * (AWS WAF developer guide, "Baseline rule groups"). All of them only count here (see the module comment).
 */
export const BODY_RULES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  AWSManagedRulesCommonRuleSet: {
    SizeRestrictions_BODY: 'awswaf:managed:aws:core-rule-set:SizeRestrictions_Body',
    EC2MetaDataSSRF_BODY: 'awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_Body',
    GenericLFI_BODY: 'awswaf:managed:aws:core-rule-set:GenericLFI_Body',
    GenericRFI_BODY: 'awswaf:managed:aws:core-rule-set:GenericRFI_Body',
    CrossSiteScripting_BODY: 'awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body',
  },
  AWSManagedRulesKnownBadInputsRuleSet: {
    JavaDeserializationRCE_BODY: 'awswaf:managed:aws:known-bad-inputs:JavaDeserializationRCE_Body',
    Log4JRCE_BODY: 'awswaf:managed:aws:known-bad-inputs:Log4JRCE_Body',
  },
};

/** Body rules left out of `BodyRuleMatched`: large bodies are normal, and `BodyTooLarge` enforces the limit. */
const NOT_ALARMED_BODY_RULES: ReadonlySet<string> = new Set(['SizeRestrictions_BODY']);

/** The name (and metric name suffix) of the rule counting the requests the counted body rules matched. */
export const BODY_RULE_MATCHED = 'BodyRuleMatched';

/**
 * A regular expression matching the decimal integers greater than `n` (leading zeros allowed), for comparing a
 * header's value with a number: WAF compares only the *length* of a field (SizeConstraintStatement), not its value.
 *
 * Greater means: more significant digits than `n`, or as many with a larger digit at the first position where they
 * differ. Plain groups only (no lookarounds or non-capturing groups), which WAF's regex engine accepts.
 */
export function greaterThanPattern(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`greaterThanPattern needs a non-negative integer, got ${n}`);
  const digits = String(n);
  const alternatives = [`[1-9][0-9]{${digits.length},}`];
  for (let i = 0; i < digits.length; i++) {
    const d = Number(digits[i]);
    if (d === 9) continue;
    const rest = digits.length - i - 1;
    const next = d + 1 === 9 ? '9' : `[${d + 1}-9]`;
    // No leading zero in the first position: it would be a shorter number (handled by `0*`).
    alternatives.push(`${digits.slice(0, i)}${next}${rest > 0 ? `[0-9]{${rest}}` : ''}`);
  }
  return `^0*(${alternatives.join('|')})$`;
}

function visibility(metricName: string): CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

/** A regional WAFv2 web ACL (managed rule groups, per-IP rate limit, body size limit) associated with a resource. */
export class WebhookWebAcl extends Construct {
  readonly webAcl: CfnWebACL;
  readonly association: CfnWebACLAssociation;
  /** The web ACL's name, also its metric name (the `WebACL` dimension). */
  readonly name: string;

  constructor(scope: Construct, id: string, props: WebhookWebAclProps) {
    super(scope, id);
    const rate = props.rateLimitPer5Minutes ?? DEFAULT_CONFIG.ingress.wafRateLimitPer5Minutes;

    const managed = MANAGED_RULE_GROUPS.map(
      (name, i): CfnWebACL.RuleProperty => ({
        name,
        priority: 10 + i,
        overrideAction: { none: {} },
        statement: {
          managedRuleGroupStatement: {
            vendorName: 'AWS',
            name,
            ...(BODY_RULES[name]
              ? {
                  ruleActionOverrides: Object.keys(BODY_RULES[name]).map((rule) => ({
                    name: rule,
                    actionToUse: { count: {} },
                  })),
                }
              : {}),
          },
        },
        visibilityConfig: visibility(`${props.name}-${name}`),
      }),
    );

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name: props.name,
      description: 'Stripe webhook ingress: body size limit, per-IP rate limit, AWS managed rule groups',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(props.name),
      rules: [
        {
          name: 'BodyTooLarge',
          priority: 0,
          action: { block: { customResponse: { responseCode: 413 } } },
          statement: {
            regexMatchStatement: {
              fieldToMatch: { singleHeader: { Name: 'content-length' } },
              regexString: greaterThanPattern(props.maxBodyBytes),
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          visibilityConfig: visibility(`${props.name}-BodyTooLarge`),
        },
        {
          name: 'RateLimitPerIp',
          priority: 1,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: rate, aggregateKeyType: 'IP', evaluationWindowSec: 300 } },
          visibilityConfig: visibility(`${props.name}-RateLimitPerIp`),
        },
        ...managed,
        {
          name: BODY_RULE_MATCHED,
          priority: 10 + MANAGED_RULE_GROUPS.length,
          action: { count: {} },
          statement: {
            orStatement: {
              statements: Object.values(BODY_RULES).flatMap((rules) =>
                Object.entries(rules)
                  .filter(([rule]) => !NOT_ALARMED_BODY_RULES.has(rule))
                  .map(([, key]) => ({ labelMatchStatement: { scope: 'LABEL', key } })),
              ),
            },
          },
          visibilityConfig: visibility(`${props.name}-${BODY_RULE_MATCHED}`),
        },
      ],
    });
    this.name = props.name;

    Validations.of(this.webAcl).acknowledge({
      id: 'PCI.DSS.321-WAFv2LoggingEnabled',
      reason:
        'Every rule publishes CloudWatch metrics and sampled requests (the runbooks use them); full WAF logs would ' +
        "store every request's headers, Stripe-Signature included, next to the metadata the API access logs keep.",
    });
    this.association = new CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.resourceArn,
      webAclArn: this.webAcl.attrArn,
    });
  }

  /**
   * Requests a counted body rule (an injection pattern in the body) matched, summed per period: AWS WAF's
   * `CountedRequests` of the `BodyRuleMatched` rule.
   */
  metricBodyRuleMatches(props?: MetricOptions): Metric {
    return new Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'CountedRequests',
      dimensionsMap: {
        WebACL: this.name,
        Region: Stack.of(this).region,
        Rule: `${this.name}-${BODY_RULE_MATCHED}`,
      },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }
}
