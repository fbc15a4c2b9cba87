/**
 * One region's part of the Route 53 failover in front of the webhook: the public domain as a custom domain of this
 * region's HTTP API, a Route 53 health check on this region's `GET /health`, and this region's failover record.
 *
 * Each regional stack creates its own record and health check (Route 53 is global, so any region's stack may own a
 * record): deploying or deleting a region adds or removes exactly its half of the pair, and no global stack or
 * cross-region reference is needed.
 *
 * - The custom domain is the same name in every region (a regional API Gateway endpoint per region), so a request
 *   Route 53 sends to either region matches that region's domain and certificate.
 * - The health check calls the region's own execute-api host, never the public name: through the public name it
 *   would follow the failover record and check whichever region is active. It must find `"status":"ok"` in the body
 *   (HTTPS_STR_MATCH), so only the ingress's own healthy answer counts, not any 200 from something in between.
 * - The primary's and the secondary's records are both health-checked. Route 53 sends traffic to the secondary only
 *   while the primary is unhealthy and the secondary healthy; if both are unhealthy it answers with the primary
 *   rather than a standby known to be broken. The secondary's check also shows on-call, before a failover, whether
 *   the standby could take the traffic (its HealthCheckStatus metric).
 * - A single region is the PRIMARY of a failover pair from the start (same set identifier, same health check), not a
 *   plain alias: Route 53 refuses a failover record next to a plain record of the same name and type, so adding a
 *   standby region later only adds its SECONDARY record and changes nothing here. A lone PRIMARY is answered even
 *   when unhealthy (there is nothing to fail over to), and its health check still alarms.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  ApiMapping,
  DomainName,
  EndpointType,
  type HttpApi,
  type HttpStage,
  SecurityPolicy,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate, CertificateValidation, type ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import type { IAliasRecordTarget } from 'aws-cdk-lib/aws-route53';
import {
  ARecord,
  Failover,
  HealthCheck,
  HealthCheckType,
  HostedZone,
  type IHostedZone,
  RecordTarget,
} from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { DEFAULT_CONFIG } from '../config';

/** What the health check must find in the body of `GET /health` (the ingress answers `{"status":"ok"}`). */
export const HEALTHY_BODY_MATCH = '"status":"ok"';

/** This region's record: the primary (also when it is the only region) or the standby. */
export type FailoverRole = 'primary' | 'secondary';

/**
 * An alias to the regional API Gateway domain that also evaluates the target's health. Hand-written because
 * ApiGatewayv2DomainProperties offers no evaluateTargetHealth, and Route 53 (and CDK) require it on failover aliases.
 */
function evaluatingTargetHealth(domain: DomainName): IAliasRecordTarget {
  return {
    bind: () => ({
      dnsName: domain.regionalDomainName,
      hostedZoneId: domain.regionalHostedZoneId,
      evaluateTargetHealth: true,
    }),
  };
}

/** Props of RegionalFailover. */
export interface RegionalFailoverProps {
  /** The region's HTTP API and the stage to map the domain to. */
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** The public name Stripe posts to, e.g. `webhooks.example.com`. */
  readonly domainName: string;
  /** The public hosted zone holding `domainName`, given by id and name (no context lookup). */
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
  /**
   * An ACM certificate for `domainName` in this region.
   * @default - a certificate created here, validated through a DNS record in the hosted zone
   */
  readonly certificateArn?: string;
  readonly role: FailoverRole;
  /** Path of the health route. @default '/health' */
  readonly healthPath?: string;
  /** Seconds between checks: 10 or 30. @default - the config's `failover.healthCheck.intervalSeconds` */
  readonly healthCheckInterval?: Duration;
  /** Failed checks in a row before the region is unhealthy. @default - the config's `failover.healthCheck.failureThreshold` */
  readonly failureThreshold?: number;
  /** Route 53 set identifier of the record (unique per name). @default - the region */
  readonly setIdentifier?: string;
}

/** The custom domain, health check and failover record of one region. */
export class RegionalFailover extends Construct {
  readonly zone: IHostedZone;
  readonly certificate: ICertificate;
  readonly domain: DomainName;
  /** The health check of this region's own endpoint. */
  readonly healthCheck: HealthCheck;
  readonly record: ARecord;
  /** `https://<domainName>`. */
  readonly publicUrl: string;

  constructor(scope: Construct, id: string, props: RegionalFailoverProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const interval = props.healthCheckInterval ?? Duration.seconds(DEFAULT_CONFIG.failover.healthCheck.intervalSeconds);
    if (![10, 30].includes(interval.toSeconds())) {
      throw new Error(`RegionalFailover health check interval must be 10 or 30 s, got ${interval.toSeconds()} s`);
    }

    this.zone = HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: props.hostedZoneId,
      zoneName: props.hostedZoneName,
    });
    this.certificate = props.certificateArn
      ? Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)
      : new Certificate(this, 'Certificate', {
          domainName: props.domainName,
          validation: CertificateValidation.fromDns(this.zone),
        });

    this.domain = new DomainName(this, 'Domain', {
      domainName: props.domainName,
      certificate: this.certificate,
      endpointType: EndpointType.REGIONAL,
      securityPolicy: SecurityPolicy.TLS_1_2,
    });
    new ApiMapping(this, 'Mapping', { api: props.api, domainName: this.domain, stage: props.stage });

    this.healthCheck = new HealthCheck(this, 'HealthCheck', {
      type: HealthCheckType.HTTPS_STR_MATCH,
      // The region's own endpoint, not the public name (which follows the failover record).
      fqdn: `${props.api.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`,
      port: 443,
      enableSNI: true,
      resourcePath: props.healthPath ?? '/health',
      searchString: HEALTHY_BODY_MATCH,
      requestInterval: interval,
      failureThreshold: props.failureThreshold ?? DEFAULT_CONFIG.failover.healthCheck.failureThreshold,
    });

    this.record = new ARecord(this, 'Record', {
      zone: this.zone,
      recordName: props.domainName,
      target: RecordTarget.fromAlias(evaluatingTargetHealth(this.domain)),
      comment: `Stripe webhooks: ${props.role} region ${stack.region}`,
      setIdentifier: props.setIdentifier ?? stack.region,
      failover: props.role === 'primary' ? Failover.PRIMARY : Failover.SECONDARY,
      healthCheck: this.healthCheck,
    });

    this.publicUrl = `https://${props.domainName}`;
  }
}
