/**
 * Environment variables more than one Lambda reads, each written once: its default, limits and doc. The Lambdas'
 * env.ts schemas list them; the constructs and the config take their defaults and limits from here.
 */
import { defineEnv } from './env';

export const sharedEnv = defineEnv({
  SECRET_CACHE_SECONDS: { kind: 'int', default: 300, min: 0, doc: 'how long a fetched secret is reused' },
  MAX_MESSAGE_BYTES: {
    kind: 'int',
    default: 262_144,
    min: 8192,
    max: 1_048_576,
    doc: "the event queue's maximum message size; larger events (with 4 KB for attributes) go as a reference",
  },
  OVERLAP_HOURS: {
    kind: 'int',
    default: 24,
    min: 1,
    max: 720,
    doc: 'how long the older signing secrets stay active after a new endpoint replaced theirs',
  },
});
