/**
 * The one HTML page of the dashboard. It carries no data at all (everything
 * arrives through the scrubbed API after sign-in), so nothing secret can be in
 * it, and it is the same for every operator.
 */
import type { Manifest } from './build.js';

export function shellHtml(manifest: Manifest, base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>bulkhead</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/assets/${manifest.style}">
<script type="module" src="${base}/assets/${manifest.script}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading the bulkhead dashboard…</p></div>
<noscript><p class="boot">The bulkhead dashboard needs JavaScript. The CLI (<code>bulkhead runs</code>) works without it.</p></noscript>
</body>
</html>
`;
}
