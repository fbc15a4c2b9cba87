/** The fake Stripe's own path table agrees with the processor's route table for every type it knows. */
import { describe, expect, it } from 'vitest';
import { retrieveRoute } from '../../lambdas/processor/retrieve-routes';
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
});
