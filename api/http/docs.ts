import type { Hono } from 'hono';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getAbsoluteFSPath } from 'swagger-ui-dist';

/**
 * Interactive API reference at `/docs`, served from the swagger-ui-dist package itself so it
 * works on machines without internet access.
 */
export function registerDocs(app: Hono<never>, specPath: string): void {
  const root = getAbsoluteFSPath();
  const asset = (file: string) => readFileSync(join(root, file));
  const files: Record<string, [string, Buffer]> = {
    'swagger-ui.css': ['text/css', asset('swagger-ui.css')],
    'swagger-ui-bundle.js': ['application/javascript', asset('swagger-ui-bundle.js')],
  };
  const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>certflow API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;
  const init = `window.ui = SwaggerUIBundle({ url: ${JSON.stringify(specPath)}, dom_id: '#ui', persistAuthorization: true });`;
  app.get('/docs', (c) => c.html(page));
  app.get('/docs/init.js', (c) => c.body(init, 200, { 'content-type': 'application/javascript' }));
  app.get('/docs/:file', (c) => {
    const found = files[c.req.param('file')];
    if (!found) return c.notFound();
    return c.body(new Uint8Array(found[1]), 200, {
      'content-type': found[0],
      'cache-control': 'public, max-age=86400',
    });
  });
}
