// Vite builds the console for /console/: TSX through esbuild's automatic JSX runtime (Preact), no
// plugin needed; no inline scripts or styles (the CSP forbids them), no CDN.
import { defineConfig } from 'vite';

export const consoleViteConfig = defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
  },
});

// eslint-disable-next-line no-restricted-syntax -- Vite reads the default export of its config file
export default consoleViteConfig;
