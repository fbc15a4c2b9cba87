/**
 * The keys of the reconciler's own items in the idempotency table. Kept free of SDK imports: the CDK construct
 * scopes the reconciler's write permission to exactly these keys.
 */

/** Who runs now, and until when. */
export const LOCK_KEY = 'reconciler#lock';
/** Up to when every event has been enqueued. */
export const CHECKPOINT_KEY = 'reconciler#checkpoint';
