// The UI of one step: its status, its summary and the exchanges it made.
import { element, StepError } from './util.js';

function formatHeaders(headers) {
  return [...new Headers(headers).entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
}

function pretty(text, contentType) {
  if (!text) return '';
  if ((contentType ?? '').includes('json')) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* shown as is */
    }
  }
  return text;
}

/** The UI of one step: its status, summary and the exchanges it made. */
export function stepView(definition, ctx) {
  const node = element('li', { class: 'step', 'data-step': definition.id, 'data-state': 'idle' });
  const status = element('span', { class: 'status' }, 'not run');
  const button = element('button', { type: 'button' }, 'Run');
  const summary = element('p', { class: 'summary' });
  const log = element('div', { class: 'exchanges' });
  node.append(element('header', {}, element('h2', {}, definition.title), status, button), summary, log);

  let current;
  const view = {
    node,
    summary,
    setState(state, text) {
      node.dataset.state = state;
      status.textContent = text ?? state;
    },
    /** Shows one request (and later its response) as a collapsible block. */
    exchange(method, url, headers, body, comment) {
      current = element('details', { class: 'exchange' });
      const head = `${method} ${url}`;
      current.append(element('summary', {}, `→ ${head}`), element('pre', { class: 'request' }, [head, formatHeaders(headers), '', body ?? '', comment ?? ''].join('\n').trim()));
      log.append(current);
      return current;
    },
    async response(response) {
      const text = await response.text();
      const block = current ?? view.exchange('?', '?', {}, null);
      block.querySelector('summary').textContent += ` ← ${response.status}`;
      block.append(element('pre', { class: 'response' }, `${response.status} ${response.statusText}\n${formatHeaders(response.headers)}\n\n${pretty(text, response.headers.get('content-type'))}`.trim()));
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    note(label, text) {
      const block = element('details', { class: 'exchange' }, element('summary', {}, label), element('pre', {}, text));
      log.append(block);
    },
    /** One HTTP exchange with the server. */
    async call(method, url, headers = {}, body = null) {
      view.exchange(method, url, headers, body);
      const request = new Request(url, { method, headers, body });
      return view.response(await ctx.server.send(request));
    },
    form(url, params) {
      const body = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();
      return view.call('POST', url, { 'content-type': 'application/x-www-form-urlencoded' }, body);
    },
    /** The in-page consent screen: resolves true on Approve, false on Deny. */
    ask(request, subject) {
      view.setState('waiting', 'waiting for you');
      const approve = element('button', { type: 'button', 'data-decision': 'approve' }, 'Approve');
      const deny = element('button', { type: 'button', 'data-decision': 'deny' }, 'Deny');
      const card = element(
        'div',
        { class: 'consent', role: 'dialog', 'aria-label': 'Consent' },
        element('p', {}, element('strong', {}, request.clientName ?? request.clientId), ' asks for ', element('code', {}, request.scopes.join(' ') || '(no scopes)'), ' on ', element('code', {}, request.resource), '.'),
        element('p', { class: 'note' }, `Signed in as ${subject} (the playground's stand-in user). You will be sent back to ${new URL(request.redirectUri).host}.`),
        approve,
        ' ',
        deny,
      );
      log.append(card);
      return new Promise((resolve) => {
        const decide = (value) => () => {
          card.remove();
          view.setState('running', 'running');
          resolve(value);
        };
        approve.addEventListener('click', decide(true), { once: true });
        deny.addEventListener('click', decide(false), { once: true });
      });
    },
    reset() {
      current = null;
      summary.textContent = '';
      log.replaceChildren();
      view.setState('idle', 'not run');
    },
    button,
  };
  return view;
}
