/**
 * The dashboard's built assets, served from memory. Only files the build
 * produced are served, looked up by exact name: no request path ever reaches
 * the file system, so there is no traversal to get wrong.
 *
 * When the folder has no manifest (a fresh clone), the first caller builds it;
 * the build runs once per process however many requests wait for it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { buildDashboard, defaultAssetDir, type Manifest } from './build.js';

export interface Asset {
  body: Uint8Array;
  type: string;
}

export interface LoadedAssets {
  manifest: Manifest;
  files: ReadonlyMap<string, Asset>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export class DashboardAssets {
  private loading: Promise<LoadedAssets> | undefined;

  constructor(private readonly dir = defaultAssetDir()) {}

  /** Starts loading (and building if needed) now, so the first page view does not wait. */
  warm(): void {
    void this.load().catch(() => undefined);
  }

  load(): Promise<LoadedAssets> {
    this.loading ??= this.read().catch((error: unknown) => {
      // A failed build is retried on the next request rather than cached forever.
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async read(): Promise<LoadedAssets> {
    const manifestPath = join(this.dir, 'manifest.json');
    if (!existsSync(manifestPath)) await buildDashboard(this.dir);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    const files = new Map<string, Asset>();
    for (const name of readdirSync(this.dir)) {
      const type = TYPES[extname(name)];
      if (!type || name === 'manifest.json') continue;
      files.set(name, { body: readFileSync(join(this.dir, name)), type });
    }
    return { manifest, files };
  }
}
