// Small helpers shared by the playground's modules.

export const $ = (selector, root = document) => root.querySelector(selector);

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

/** A token shortened for a summary line (the full one is in the exchange). */
// Tokens start with their grant's id: the tail is what tells them apart.
export const short = (token) => (token && token.length > 16 ? `…${token.slice(-8)}` : String(token));

export class StepError extends Error {}
export const expect = (condition, message) => {
  if (!condition) throw new StepError(message);
};
