/**
 * Builds bulkhead as it is at another git ref, for a side-by-side bench
 * (`gateway.bench.ts --against REF`): the ref's files are exported into a
 * temporary folder (`git archive`, which leaves the repository and its
 * worktrees untouched), this tree's node_modules is linked in (no network for
 * `npm ci`; a ref with other dependencies needs them installed here first),
 * and `tsc -p tsconfig.build.json` compiles it, then its `bulkhead run` bundle
 * is made. The working tree itself is built the same way (into its own `dist/`), so both contenders run compiled
 * JavaScript and differ only in their code.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BuiltRef {
  /** The ref as given, and the commit it named. */
  ref: string;
  commit: string;
  /** The compiled `src` folder (what `BENCH_GATEWAY_FROM` takes). */
  src: string;
}

async function tsc(root: string, cwd: string): Promise<void> {
  const compiler = join(root, 'node_modules/typescript/bin/tsc');
  try {
    await run(process.execPath, [compiler, '-p', 'tsconfig.build.json'], { cwd, maxBuffer: 16 << 20 });
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`tsc failed in ${cwd}:\n${out.slice(0, 4000)}`);
  }
}

/**
 * `bulkhead run`'s bundle (`dist/bundle/run.cjs`), which the launcher loads when it is there: a
 * tree compiled without it measures `run` loading the whole CLI instead (a clean clone's full
 * bench did, 1 Dec: 484-589 ms against 237 with the bundle).
 */
async function bundle(cwd: string): Promise<void> {
  try {
    await run(process.execPath, [join(cwd, 'scripts/bundle-cli.mjs')], { cwd, maxBuffer: 16 << 20 });
  } catch (error) {
    const out = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`the run bundle failed in ${cwd}:\n${out.slice(0, 4000)}`);
  }
}

/** Compiles the working tree at `root` into `root/dist` (what `npm run build` does: tsc, then the bundle). */
export async function buildWorkingTree(root: string): Promise<string> {
  await tsc(root, root);
  await bundle(root);
  return join(root, 'dist/src');
}

/** Exports `ref` from the repository at `root` into `into` and compiles it there. */
export async function buildRef(root: string, ref: string, into: string): Promise<BuiltRef> {
  let commit: string;
  try {
    commit = (await run('git', ['-C', root, 'rev-parse', '--verify', `${ref}^{commit}`])).stdout.trim();
  } catch {
    throw new Error(`--against: ${ref} is not a commit in ${root}`);
  }
  mkdirSync(into, { recursive: true });
  const tar = `${into}.tar`;
  await run('git', ['-C', root, 'archive', '--format=tar', '-o', tar, commit]);
  await run('tar', ['-xf', tar, '-C', into]);
  symlinkSync(join(root, 'node_modules'), join(into, 'node_modules'), 'dir');
  if (existsSync(join(root, 'dist-ui'))) symlinkSync(join(root, 'dist-ui'), join(into, 'dist-ui'), 'dir');
  await tsc(root, into);
  if (existsSync(join(into, 'scripts/bundle-cli.mjs'))) await bundle(into);
  return { ref, commit, src: join(into, 'dist/src') };
}
