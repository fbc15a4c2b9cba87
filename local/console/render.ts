/**
 * The console's pages, as plain server-rendered HTML: no front-end build, one small inline script that re-fetches
 * the live part of a page when the server says something changed (server-sent events). Every value from an event
 * is escaped: payloads are attacker-controlled text as far as a browser is concerned.
 */

import type { QueueFigures } from '../../ops/queues';
import {
  type Counters,
  EVENT_STATUSES,
  type EventJournal,
  type EventStatus,
  type Filter,
  type JournalEvent,
  type TimelineEntry,
} from './journal';

const BASE = '/_console';

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const e = escapeHtml;

function json(value: unknown): string {
  if (value === undefined) return '<p class="muted">none</p>';
  let text: string;
  if (typeof value === 'string') {
    try {
      text = JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      text = value;
    }
  } else text = JSON.stringify(value, null, 2);
  return `<pre>${e(text)}</pre>`;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
header{background:#1f2937;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#cbd5e1;text-decoration:none}header a:hover{color:#fff}
main{padding:16px 20px}h1{font-size:18px;margin:0}h2{font-size:15px;margin:18px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #e5e7eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td.mono,.mono{font-family:ui-monospace,monospace;font-size:12px}
.status{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px;font-weight:600}
.st-queued{background:#e0e7ff}.st-processing{background:#fef3c7}.st-done{background:#d1fae5}.st-retried{background:#fde68a}.st-dlq{background:#fecaca}
.counters{display:flex;flex-wrap:wrap;gap:8px}.counter{background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:6px 12px}
.counter b{display:block;font-size:18px}.muted{color:#6b7280}pre{background:#fff;border:1px solid #e5e7eb;padding:8px;overflow:auto;max-height:360px}
form.inline{display:inline}button{cursor:pointer}.flash{background:#ecfdf5;border:1px solid #6ee7b7;padding:6px 10px;margin-bottom:10px}
`;

/** Re-fetches #live when the journal changes (at most every 300 ms); the server sends a fragment for `x-fragment`. */
const LIVE_SCRIPT = `
(function(){var live=document.getElementById('live');if(!live||!window.EventSource)return;var t=null;
var src=new EventSource('${BASE}/stream');src.onmessage=function(){if(t)return;t=setTimeout(function(){t=null;
fetch(location.href,{headers:{'x-fragment':'1'}}).then(function(r){return r.text()}).then(function(h){live.innerHTML=h;
document.body.setAttribute('data-updated',String(Date.now()))})},300)};})();`;

export function layout(title: string, live: string, extra = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${e(title)} · Stripe webhooks (local)</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>
<header><h1>Stripe webhooks · local console</h1><a href="${BASE}">Events</a><a href="${BASE}/dlq">DLQ</a>
<span class="muted">local only, never deployed</span></header>
<main>${extra}<div id="live">${live}</div></main><script>${LIVE_SCRIPT}</script></body></html>`;
}

function badge(status: EventStatus): string {
  return `<span class="status st-${status}" data-status="${status}">${status === 'dlq' ? 'DLQ' : status}</span>`;
}

function counter(label: string, value: string | number, id: string): string {
  return `<div class="counter" data-counter="${id}">${e(label)}<b>${e(value)}</b></div>`;
}

export function countersPanel(c: Counters, journal: EventJournal, q: QueueFigures): string {
  const rejected = Object.entries(c.rejected)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const perEvent = journal.callsPerEvent();
  return `<div class="counters">${[
    counter('accepted', c.accepted, 'accepted'),
    counter(
      'rejected',
      Object.values(c.rejected).reduce((a, b) => a + b, 0),
      'rejected',
    ),
    counter('processed', c.processed, 'processed'),
    counter('duplicates skipped', c.duplicates, 'duplicates'),
    counter('retried', c.retried, 'retried'),
    counter('dead-lettered', c.deadLettered, 'dead-lettered'),
    counter('Stripe calls / event', perEvent === undefined ? '-' : perEvent.toFixed(2), 'calls-per-event'),
    counter('queue', q.queueDepth, 'queue-depth'),
    counter('in flight', q.inFlight, 'in-flight'),
    counter('DLQ', q.dlqDepth, 'dlq-depth'),
  ].join('')}</div>${rejected ? `<p class="muted" data-rejections>rejected by reason: ${e(rejected)}</p>` : ''}`;
}

function eventRow(ev: JournalEvent): string {
  const last = ev.attempts.at(-1);
  return `<tr data-event="${e(ev.eventId)}"><td class="mono"><a href="${BASE}/events/${encodeURIComponent(ev.eventId)}">${e(ev.eventId)}</a></td>
<td>${e(ev.type)}</td><td class="mono">${ev.objectId ? `<a href="${BASE}/objects/${encodeURIComponent(ev.objectId)}">${e(ev.objectId)}</a>` : ''}</td>
<td>${badge(ev.status)}</td><td>${ev.attempts.length}</td><td>${ev.deliveries}</td><td class="mono">${e(ev.updatedAt)}</td>
<td>${e(ev.reason ?? last?.reason ?? '')}</td></tr>`;
}

const EVENT_HEAD =
  '<tr><th>event</th><th>type</th><th>object</th><th>status</th><th>attempts</th><th>deliveries</th><th>updated</th><th>reason</th></tr>';

/** The live part of the event list: counters, the page of events, the pager. */
export function listLive(journal: EventJournal, filter: Filter, page: number, q: QueueFigures): string {
  const p = journal.list(filter, page);
  const base = { type: filter.type, object: filter.object, status: filter.status };
  const pager =
    p.pages > 1
      ? `<p data-pager>page ${p.page} of ${p.pages} (${p.total} events) ${
          p.page > 1 ? `<a href="${BASE}${query({ ...base, page: p.page - 1 })}">newer</a>` : ''
        } ${p.page < p.pages ? `<a href="${BASE}${query({ ...base, page: p.page + 1 })}">older</a>` : ''}</p>`
      : `<p data-pager>${p.total} event(s)</p>`;
  return `${countersPanel(journal.counters, journal, q)}<h2>Events</h2>${pager}
<table id="events">${EVENT_HEAD}${p.events.map(eventRow).join('')}</table>`;
}

export function filterForm(journal: EventJournal, filter: Filter): string {
  const options = (values: readonly string[], selected?: string) =>
    ['', ...values]
      .map((v) => `<option value="${e(v)}"${v === (selected ?? '') ? ' selected' : ''}>${e(v || 'any')}</option>`)
      .join('');
  return `<form method="get" action="${BASE}" id="filters">type <select name="type">${options(journal.types(), filter.type)}</select>
status <select name="status">${options(EVENT_STATUSES, filter.status)}</select>
object <input name="object" value="${e(filter.object ?? '')}" placeholder="pi_..." size="28"> <button type="submit">filter</button>
<a href="${BASE}">clear</a></form>`;
}

function actionForm(action: string, token: string, fields: Record<string, string>, label: string): string {
  const hidden = Object.entries({ ...fields, token })
    .map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`)
    .join('');
  return `<form class="inline" method="post" action="${BASE}/actions/${action}">${hidden}<button type="submit" data-action="${action}">${e(label)}</button></form>`;
}

export function eventLive(ev: JournalEvent, token: string): string {
  const attempts = ev.attempts
    .map(
      (a, i) =>
        `<tr><td>${i + 1}</td><td class="mono">${e(a.at)}</td><td class="mono">${e(a.messageId)}</td><td>${a.receiveCount}</td><td class="mono">${e(a.container ?? '')}</td><td>${e(a.outcome ?? 'running')}</td><td>${e(a.reason ?? '')}</td></tr>`,
    )
    .join('');
  return `<h2>${e(ev.eventId)} ${badge(ev.status)}</h2>
<p>${e(ev.type)}${ev.objectId ? ` · object <a href="${BASE}/objects/${encodeURIComponent(ev.objectId)}">${e(ev.objectId)}</a>` : ''}${ev.account ? ` · account ${e(ev.account)}` : ''} · ${ev.deliveries} accepted deliveries · first seen ${e(ev.firstSeenAt)}</p>
${ev.reason ? `<p data-reason><b>reason:</b> ${e(ev.reason)}</p>` : ''}
<p>${actionForm('replay', token, { id: ev.eventId }, 'replay (fetch from Stripe and enqueue)')}</p>
<h2>Attempts</h2><table id="attempts"><tr><th>#</th><th>at</th><th>message</th><th>receive</th><th>container</th><th>outcome</th><th>reason</th></tr>${attempts}</table>
<h2>Object as fetched and handed to the handler</h2>${json(ev.object)}
<h2>Handler result</h2>${json(ev.result)}
<h2>Signed payload, as received</h2>${json(ev.payload)}`;
}

export function objectLive(
  objectId: string,
  timeline: readonly TimelineEntry[],
  events: readonly JournalEvent[],
): string {
  const rows = timeline
    .map(
      (t, i) =>
        `<tr><td>${i + 1}</td><td class="mono">${e(t.at)}</td><td class="mono"><a href="${BASE}/events/${encodeURIComponent(t.eventId)}">${e(t.eventId)}</a></td><td>${e(t.type)}</td><td data-state>${e(t.state)}</td></tr>`,
    )
    .join('');
  return `<h2>Object ${e(objectId)}</h2><p class="muted">The states handed to handlers, in the order they were handed.</p>
<table id="timeline"><tr><th>#</th><th>handed at</th><th>event</th><th>type</th><th>state</th></tr>${rows}</table>
<h2>Its events</h2><table id="events">${EVENT_HEAD}${events.map(eventRow).join('')}</table>`;
}

export function dlqLive(events: readonly JournalEvent[], q: QueueFigures, token: string): string {
  const rows = events
    .map(
      (ev) =>
        `<tr data-event="${e(ev.eventId)}"><td class="mono"><a href="${BASE}/events/${encodeURIComponent(ev.eventId)}">${e(ev.eventId)}</a></td><td>${e(ev.type)}</td><td>${e(ev.reason ?? '')}</td><td>${actionForm('replay', token, { id: ev.eventId, back: 'dlq' }, 'replay')}</td></tr>`,
    )
    .join('');
  return `<h2>Dead-letter queue: ${q.dlqDepth} message(s)</h2>
<p>${actionForm('redrive', token, {}, 'redrive every DLQ message to the event queue')} <span class="muted">the same code as <code>npm run ops -- dlq redrive</code> and <code>replay --id</code>; fix the cause first</span></p>
<table id="dlq"><tr><th>event</th><th>type</th><th>reason</th><th></th></tr>${rows}</table>`;
}

export function flash(message: string | undefined): string {
  return message ? `<p class="flash" data-flash>${e(message)}</p>` : '';
}
