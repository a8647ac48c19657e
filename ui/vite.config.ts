import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The query role embeds dist/ in its binary: assets under /assets/ carry content hashes and are
// served with a year-long cache; index.html is never cached. `npm run dev` proxies the API to a
// running `skein query` (SKEIN_QUERY_URL, default http://127.0.0.1:16686).
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': process.env.SKEIN_QUERY_URL ?? 'http://127.0.0.1:16686' },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
