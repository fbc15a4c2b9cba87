/**
 * A small stateful, in-memory Secrets Manager behind aws-sdk-client-mock (no local stand-in for Secrets Manager
 * exists), with the parts of its behaviour the rotations depend on:
 *
 * - versions identified by ClientRequestToken, each with a value (or none: the empty version `RotateSecret` creates)
 *   and staging labels; a label is on at most one version; moving AWSCURRENT moves AWSPREVIOUS to the old version;
 * - PutSecretValue with an existing token: same value = no-op, an empty version gets its value, another value is a
 *   ResourceExistsException; VersionStages default to AWSCURRENT and are moved from wherever they were;
 * - UpdateSecretVersionStage refuses to move a label without RemoveFromVersionId naming where it is;
 * - GetSecretValue by stage (default AWSCURRENT) and/or version id: ResourceNotFoundException for an empty version or
 *   a version without the asked stage;
 * - RotateSecret creates the empty AWSPENDING version and refuses while an earlier rotation is unfinished
 *   (AWSPENDING on a version that is not AWSCURRENT); `rotate` then plays the service: it invokes the four steps in
 *   order and stops at the first failure.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  type RotateSecretCommandOutput,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

const CURRENT = 'AWSCURRENT';
const PENDING = 'AWSPENDING';
const PREVIOUS = 'AWSPREVIOUS';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
const META = { $metadata: {} };

interface Version {
  value: string | undefined;
  stages: Set<string>;
  created: number;
}

interface StoredSecret {
  arn: string;
  name: string;
  versions: Map<string, Version>;
  replicas: Map<string, Replica>;
}

/** A replica region of a secret, with the key it is encrypted with there. */
interface Replica {
  /** The replica key's ARN and its aliases (what KMS authorizes the caller's request against). */
  keyArn: string;
  keyAliases: string[];
  status: 'InSync' | 'Failed';
  message?: string;
}

/** Whether the caller may make a KMS request: action, key ARN, and the request context KMS evaluates. */
export type KmsAuthorizer = (action: string, keyArn: string, context: Record<string, string | string[]>) => boolean;

/** The outcome of `rotate`: the rotation's token, and where and why it stopped if it failed. */
export interface RotationRun {
  token: string;
  failedStep?: (typeof STEPS)[number];
  error?: unknown;
}

export class FakeSecretsManager {
  /** A client whose `send` is answered by this fake (other clients are not affected). */
  readonly client: SecretsManagerClient;
  /** Every command received, by name, in order. */
  readonly calls: string[] = [];
  /** When set, the next commands whose name matches throw this error once each (then answer normally). */
  private failures: { command: string; error: Error }[] = [];
  private readonly secrets = new Map<string, StoredSecret>();
  private clock = 0;

  constructor() {
    this.client = new SecretsManagerClient({ region: 'us-east-1' });
    const mock = mockClient(this.client);
    const wrap =
      <I, O>(name: string, fn: (input: I) => O) =>
      async (input: I): Promise<O> => {
        this.calls.push(name);
        const failure = this.failures.findIndex((f) => f.command === name);
        if (failure >= 0) {
          const [f] = this.failures.splice(failure, 1);
          throw f!.error;
        }
        return fn(input);
      };
    mock.on(GetSecretValueCommand).callsFake(wrap('GetSecretValue', (i) => this.getSecretValue(i)));
    mock.on(PutSecretValueCommand).callsFake(wrap('PutSecretValue', (i) => this.putSecretValue(i)));
    mock.on(UpdateSecretVersionStageCommand).callsFake(wrap('UpdateSecretVersionStage', (i) => this.updateStage(i)));
    mock.on(DescribeSecretCommand).callsFake(wrap('DescribeSecret', (i) => this.describe(i)));
    mock.on(RotateSecretCommand).callsFake(wrap('RotateSecret', (i) => this.rotateSecret(i)));
  }

  /** Creates a secret whose first version (AWSCURRENT) holds `value`; returns its ARN. */
  createSecret(name: string, value: string): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const versions = new Map<string, Version>([
      [randomUUID(), { value, stages: new Set([CURRENT]), created: this.clock++ }],
    ]);
    this.secrets.set(name, { arn, name, versions, replicas: new Map() });
    return arn;
  }

  /**
   * Who calls (for replication): Secrets Manager encrypts each new version for every replica region with the
   * caller's own permissions (kms:GenerateDataKey and kms:Encrypt on the replica's key, through Secrets Manager in
   * that region). Default: the caller may do anything.
   */
  kmsAuthorizer: KmsAuthorizer = () => true;

  /** Replicates `name` to `region`, encrypted there with `keyArn` (aliased `keyAliases`). */
  addReplica(name: string, region: string, keyArn: string, keyAliases: string[]): void {
    this.secret(name).replicas.set(region, { keyArn, keyAliases, status: 'InSync' });
  }

  /** Re-encrypts a new version for every replica as the caller; a replica the caller cannot encrypt for fails. */
  private replicate(secret: StoredSecret): void {
    for (const [region, replica] of secret.replicas) {
      const context = {
        'kms:ViaService': `secretsmanager.${region}.amazonaws.com`,
        'kms:ResourceAliases': replica.keyAliases,
      };
      const denied = ['kms:GenerateDataKey', 'kms:Encrypt'].filter(
        (action) => !this.kmsAuthorizer(action, replica.keyArn, context),
      );
      replica.status = denied.length === 0 ? 'InSync' : 'Failed';
      if (denied.length > 0)
        replica.message = `Access to KMS is not allowed (${denied.join(', ')} on ${replica.keyArn})`;
      else delete replica.message;
    }
  }

  /** Makes the next call of `command` (e.g. 'PutSecretValue') throw `error`. */
  failNext(command: string, error: Error): void {
    this.failures.push({ command, error });
  }

  /** The value under a stage (default AWSCURRENT), or undefined. */
  valueAt(secretId: string, stage = CURRENT): string | undefined {
    return [...this.secret(secretId).versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  /** The version id carrying a stage, or undefined. */
  versionAt(secretId: string, stage: string): string | undefined {
    return [...this.secret(secretId).versions.entries()].find(([, v]) => v.stages.has(stage))?.[0];
  }

  /** Each version id with its labels (versions without any are left out, as DescribeSecret does). */
  stages(secretId: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [id, v] of this.secret(secretId).versions) if (v.stages.size > 0) out[id] = [...v.stages].sort();
    return out;
  }

  /** How many versions the secret has (labelled or not). */
  versionCount(secretId: string): number {
    return this.secret(secretId).versions.size;
  }

  /**
   * Plays Secrets Manager's rotation: RotateSecret (a new empty AWSPENDING version, or the unfinished rotation's
   * token when `resume` is set), then each step in order through `invoke`, stopping at the first failure.
   */
  async rotate(
    secretId: string,
    invoke: (event: { SecretId: string; ClientRequestToken: string; Step: string }) => Promise<unknown>,
    opts: { token?: string; resume?: boolean } = {},
  ): Promise<RotationRun> {
    const secret = this.secret(secretId);
    const token = opts.resume
      ? (this.unfinishedRotation(secret) ?? 'none')
      : (await this.client.send(new RotateSecretCommand({ SecretId: secretId, ClientRequestToken: opts.token })))
          .VersionId!;
    for (const step of STEPS) {
      try {
        await invoke({ SecretId: secret.arn, ClientRequestToken: token, Step: step });
      } catch (error) {
        return { token, failedStep: step, error };
      }
    }
    return { token };
  }

  /**
   * Plays what Secrets Manager does when a rotation is configured without rotating (`RotateImmediately: false`, as
   * CloudFormation's rotation schedule asks): a new version labelled AWSPENDING (holding a copy of the current value,
   * or nothing with `empty`), the testSecret step only, then the label removed. A failing test leaves the label on,
   * as an unfinished rotation does.
   */
  async testRotationConfiguration(
    secretId: string,
    invoke: (event: { SecretId: string; ClientRequestToken: string; Step: string }) => Promise<unknown>,
    opts: { empty?: boolean } = {},
  ): Promise<RotationRun> {
    const secret = this.secret(secretId);
    if (this.unfinishedRotation(secret)) {
      throw new InvalidRequestException({ ...META, message: "A previous rotation isn't complete." });
    }
    const token = randomUUID();
    const current = [...secret.versions.values()].find((v) => v.stages.has(CURRENT))?.value;
    secret.versions.set(token, { value: opts.empty ? undefined : current, stages: new Set(), created: this.clock++ });
    this.attach(secret, PENDING, token);
    try {
      await invoke({ SecretId: secret.arn, ClientRequestToken: token, Step: 'testSecret' });
    } catch (error) {
      return { token, failedStep: 'testSecret', error };
    }
    secret.versions.get(token)!.stages.delete(PENDING);
    return { token };
  }

  private secret(secretId: string): StoredSecret {
    const found = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.arn === secretId);
    if (!found) {
      throw new ResourceNotFoundException({ ...META, message: "Secrets Manager can't find the specified secret." });
    }
    return found;
  }

  private unfinishedRotation(secret: StoredSecret): string | undefined {
    return [...secret.versions.entries()].find(([, v]) => v.stages.has(PENDING) && !v.stages.has(CURRENT))?.[0];
  }

  /** Puts `stage` on `versionId`, taking it off any other version (AWSCURRENT leaves AWSPREVIOUS behind). */
  private attach(secret: StoredSecret, stage: string, versionId: string): void {
    for (const [id, v] of secret.versions) {
      if (id === versionId || !v.stages.has(stage)) continue;
      v.stages.delete(stage);
      if (stage === CURRENT) {
        for (const other of secret.versions.values()) other.stages.delete(PREVIOUS);
        v.stages.add(PREVIOUS);
      }
    }
    const target = secret.versions.get(versionId)!;
    target.stages.add(stage);
    if (stage === CURRENT) target.stages.delete(PREVIOUS);
  }

  private getSecretValue(input: {
    SecretId?: string;
    VersionId?: string;
    VersionStage?: string;
  }): GetSecretValueCommandOutput {
    const secret = this.secret(input.SecretId ?? '');
    let entry: [string, Version] | undefined;
    if (input.VersionId) {
      const v = secret.versions.get(input.VersionId);
      entry = v && (!input.VersionStage || v.stages.has(input.VersionStage)) ? [input.VersionId, v] : undefined;
    } else {
      const stage = input.VersionStage ?? CURRENT;
      entry = [...secret.versions.entries()].find(([, v]) => v.stages.has(stage));
    }
    if (!entry || entry[1].value === undefined) {
      throw new ResourceNotFoundException({
        ...META,
        message: "Secrets Manager can't find the specified secret value for the version or staging label.",
      });
    }
    return {
      ...META,
      ARN: secret.arn,
      Name: secret.name,
      VersionId: entry[0],
      SecretString: entry[1].value,
      VersionStages: [...entry[1].stages],
    };
  }

  private putSecretValue(input: {
    SecretId?: string;
    ClientRequestToken?: string;
    SecretString?: string;
    VersionStages?: string[];
  }): PutSecretValueCommandOutput {
    const secret = this.secret(input.SecretId ?? '');
    const token = input.ClientRequestToken ?? randomUUID();
    const existing = secret.versions.get(token);
    if (existing && existing.value !== undefined && existing.value !== input.SecretString) {
      throw new ResourceExistsException({
        ...META,
        message: 'You can’t modify an existing version, you can only create a new version.',
      });
    }
    if (!existing) secret.versions.set(token, { value: input.SecretString, stages: new Set(), created: this.clock++ });
    else existing.value = input.SecretString;
    this.replicate(secret);
    for (const stage of input.VersionStages ?? [CURRENT]) this.attach(secret, stage, token);
    return {
      ...META,
      ARN: secret.arn,
      Name: secret.name,
      VersionId: token,
      VersionStages: [...secret.versions.get(token)!.stages],
    };
  }

  private updateStage(input: {
    SecretId?: string;
    VersionStage?: string;
    MoveToVersionId?: string;
    RemoveFromVersionId?: string;
  }) {
    const secret = this.secret(input.SecretId ?? '');
    const stage = input.VersionStage ?? '';
    const holder = [...secret.versions.entries()].find(([, v]) => v.stages.has(stage))?.[0];
    if (input.RemoveFromVersionId && holder !== input.RemoveFromVersionId) {
      throw new InvalidParameterException({
        ...META,
        message: `The staging label ${stage} is not attached to version ${input.RemoveFromVersionId}.`,
      });
    }
    if (input.MoveToVersionId) {
      if (!secret.versions.has(input.MoveToVersionId)) {
        throw new ResourceNotFoundException({ ...META, message: `Version ${input.MoveToVersionId} not found.` });
      }
      if (holder && holder !== input.MoveToVersionId && input.RemoveFromVersionId !== holder) {
        throw new InvalidParameterException({
          ...META,
          message: `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        });
      }
      this.attach(secret, stage, input.MoveToVersionId);
    } else if (holder) {
      secret.versions.get(holder)!.stages.delete(stage);
    }
    return { ...META, ARN: secret.arn, Name: secret.name };
  }

  private describe(input: { SecretId?: string }): DescribeSecretCommandOutput {
    const secret = this.secret(input.SecretId ?? '');
    return {
      ...META,
      ARN: secret.arn,
      Name: secret.name,
      RotationEnabled: true,
      VersionIdsToStages: this.stages(secret.name),
      ...(secret.replicas.size > 0
        ? {
            ReplicationStatus: [...secret.replicas].map(([Region, r]) => ({
              Region,
              KmsKeyId: r.keyArn,
              Status: r.status,
              ...(r.message ? { StatusMessage: r.message } : {}),
            })),
          }
        : {}),
    };
  }

  private rotateSecret(input: { SecretId?: string; ClientRequestToken?: string }): RotateSecretCommandOutput {
    const secret = this.secret(input.SecretId ?? '');
    if (this.unfinishedRotation(secret)) {
      throw new InvalidRequestException({
        ...META,
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
      });
    }
    const token = input.ClientRequestToken ?? randomUUID();
    secret.versions.set(token, { value: undefined, stages: new Set(), created: this.clock++ });
    this.attach(secret, PENDING, token);
    return { ...META, ARN: secret.arn, Name: secret.name, VersionId: token };
  }
}
