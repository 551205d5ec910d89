import { defineConfig } from 'vite';

/**
 * The web app: a static build (dist/web) that any host can serve. The preview server sends the
 * Content-Security-Policy the app is built for (docs/DESIGN.md "The web app"): scripts, workers and
 * WebAssembly from the page's own origin only, and no connections at all.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'", "style-src 'self'",
  "img-src 'self' data: blob:", "connect-src 'none'", "base-uri 'none'", "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

export default defineConfig({
  base: './',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 },
  worker: { format: 'es' },
  preview: { headers: SECURITY_HEADERS },
});
