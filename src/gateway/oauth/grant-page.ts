/**
 * The one page of the authorization server: a form for the run grant. It is
 * served with a strict CSP and no script, and escapes everything a client
 * registered (its name is attacker-chosen text).
 */

/** The part of a response the page needs (an express Response fits). */
export interface PageResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): { send(body: string): unknown };
}

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);

export interface GrantForm {
  action: string;
  requestId: string;
  clientName: string;
  error?: string;
}

export function grantPageHtml(form: GrantForm): string {
  const error = form.error ? `<p class="error" role="alert">${escapeHtml(form.error)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect to bulkhead</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
input{width:100%;font:inherit;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;font:inherit;padding:.4rem 1rem}
.error{color:#b00020}</style></head>
<body><h1>Connect a client to a bulkhead run</h1>
<p><strong>${escapeHtml(form.clientName.slice(0, 200))}</strong> asks to act within one run.
Paste the run grant that <code>bulkhead run --detach</code> printed (it starts with <code>bhg_</code>).
The grant works once; the client gets access to that run only, until the run ends.</p>
${error}
<form method="post" action="${escapeHtml(form.action)}">
<input type="hidden" name="request" value="${escapeHtml(form.requestId)}">
<label for="grant">Run grant</label>
<input id="grant" name="grant" autocomplete="off" spellcheck="false" required>
<button type="submit">Connect</button>
</form></body></html>`;
}

export function grantPage(res: PageResponse, form: GrantForm): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
  res.status(200).send(grantPageHtml(form));
}
