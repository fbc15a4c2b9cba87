/** Delivers a Stripe event to a local webhook URL the way Stripe does: signed with the local secret. */
import Stripe from 'stripe';
import { LOCAL_WEBHOOK_SECRET } from '../../local/pipeline';

/** POSTs `event`, signed with `secret`, to `webhookUrl`; returns the HTTP status. */
export async function deliverSigned(
  webhookUrl: string,
  event: Record<string, unknown>,
  secret = LOCAL_WEBHOOK_SECRET,
): Promise<number> {
  const body = JSON.stringify(event);
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  const res = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}
