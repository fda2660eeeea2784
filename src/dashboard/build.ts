/**
 * Builds the dashboard's browser assets with esbuild: one ES module bundle and
 * one stylesheet, content-hashed, plus `manifest.json` naming them. The output
 * is never committed; `npm run build:ui` makes it, and a gateway that finds it
 * missing builds it on first start (see assets.ts).
 *
 *   tsx src/dashboard/build.ts [OUT_DIR]
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CLIENT_ENTRY = resolve(import.meta.dirname, 'client/main.tsx');
export const CLIENT_STYLES = resolve(import.meta.dirname, 'client/styles.css');

export interface Manifest {
  script: string;
  style: string;
}

/** Where built assets go by default: `dist-ui/` at the package root. */
export function defaultAssetDir(): string {
  return resolve(packageRoot(import.meta.dirname), 'dist-ui');
}

function packageRoot(from: string): string {
  // src/dashboard (run through tsx) or dist/src/dashboard (compiled): the root is where src/ sits.
  let dir = from;
  while (basename(dir) !== 'src' && dirname(dir) !== dir) dir = dirname(dir);
  const root = dirname(dir);
  return basename(root) === 'dist' ? dirname(root) : root;
}

export async function buildDashboard(outDir = defaultAssetDir()): Promise<Manifest> {
  // Imported here, not at the top: a gateway whose assets exist never loads esbuild.
  const esbuild = await import('esbuild');
  const staging = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  try {
    const result = await esbuild.build({
      entryPoints: { app: CLIENT_ENTRY, styles: CLIENT_STYLES },
      bundle: true,
      format: 'esm',
      target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
      minify: true,
      sourcemap: false,
      jsx: 'automatic',
      jsxImportSource: 'preact',
      entryNames: '[name]-[hash]',
      outdir: staging,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
    });
    const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
    const script = outputs.find((f) => f.startsWith('app-') && f.endsWith('.js'));
    const style = outputs.find((f) => f.startsWith('styles-') && f.endsWith('.css'));
    if (!script || !style) throw new Error('esbuild produced no script or stylesheet');
    const manifest: Manifest = { script, style };
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Swapped in whole, so a gateway reading the folder never sees half a build.
    rmSync(outDir, { recursive: true, force: true });
    try {
      renameSync(staging, outDir);
    } catch (error) {
      // Another process (a parallel test worker) swapped its build in first: same sources, keep theirs.
      if (!existsSync(join(outDir, 'manifest.json'))) throw error;
      rmSync(staging, { recursive: true, force: true });
    }
    return manifest;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv[2] ? resolve(process.argv[2]) : defaultAssetDir();
  const manifest = await buildDashboard(out);
  process.stdout.write(`dashboard assets: ${out} (${manifest.script}, ${manifest.style})\n`);
}
