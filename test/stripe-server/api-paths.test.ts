/** The fake Stripe's own path table agrees with the processor's route table for every type it knows. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { retrieveRoute } from '../../lambdas/processor/retrieve-routes';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { OBJECT_TYPE_BY_COLLECTION, SINGLETON_TYPE_BY_PATH, servedPath } from '../../local/stripe-api-paths';

describe("the fake Stripe's API paths", () => {
  it.each([...OBJECT_TYPE_BY_COLLECTION.values()])(
    '%s: the processor retrieves it where the fake serves it',
    (type) => {
      const obj = { id: 'x_1/2', object: type };
      expect(retrieveRoute(type, obj.id)).toEqual({ kind: 'path', path: servedPath(obj), guessed: false });
    },
  );

  it.each([...SINGLETON_TYPE_BY_PATH.values()])('%s: a singleton at one path, whatever the id', (type) => {
    expect(retrieveRoute(type, undefined)).toEqual({
      kind: 'path',
      path: servedPath({ id: 'any', object: type }),
      guessed: false,
    });
  });

  it('knows nothing it would have to guess', () => {
    expect(servedPath({ id: 'x', object: 'some_new_object' })).toBeUndefined();
  });

  it("is the fake's own: no file of the local Stripe imports the Lambdas' code it stands in for", () => {
    const dir = join(PROJECT_ROOT, 'local');
    const files = readdirSync(dir).filter((f) => /^stripe-.*\.ts$/.test(f));
    expect(files).toContain('stripe-server.ts');
    const borrowed = files.flatMap((f) =>
      [...readFileSync(join(dir, f), 'utf8').matchAll(/from '(\.\.\/lambdas\/[^']+)'/g)].map((m) => `${f}: ${m[1]}`),
    );
    expect(borrowed).toEqual([]);
  });
});
