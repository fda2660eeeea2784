/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by the
 * area the code lives in (bulkhead's folders, each dependency, Node's HTTP
 * stack, GC) and the hottest functions, so a profile answers "where does a
 * call's time go" without opening DevTools.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface CpuProfileSummary {
  /** Sampled time, idle excluded. */
  totalMs: number;
  areas: { area: string; selfMs: number; share: number }[];
  functions: { name: string; area: string; selfMs: number; share: number }[];
}

function pathOf(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return url;
    }
  }
  return url;
}

/** The area a frame belongs to: a dependency by package name, a bulkhead folder, or a Node subsystem. */
export function areaOf(frame: ProfileNode['callFrame'], root: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle)
    return 'native (V8/C++ builtins)';
  }
  const path = pathOf(url);
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '?');
    return name;
  }
  if (path.startsWith('node:internal/deps/undici')) return 'node: undici (fetch)';
  if (
    /^node:(internal\/)?(_?http|https|net|stream|internal\/streams|internal\/http)/.test(path) ||
    /^node:_http/.test(path)
  )
    return 'node: http/net/streams';
  if (path.startsWith('node:')) return 'node: other internals';
  if (path.startsWith(root)) {
    const parts = relative(root, path).split('/');
    return parts[0] === 'src' ? `bulkhead src/${parts[1] ?? ''}` : `bulkhead ${parts[0] ?? ''}`;
  }
  return 'other';
}

export function summarizeCpuProfile(profile: CpuProfile, root: string, top = 25): CpuProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Each delta is the time before its sample; attributing it to that sample is V8's own convention.
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, { area: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const area = areaOf(node.callFrame, root);
    if (area === '(idle)') continue;
    total += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${shortUrl(url, root)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    const entry = functions.get(name) ?? { area, us: 0 };
    entry.us += us;
    functions.set(name, entry);
  }
  const share = (us: number) => (total > 0 ? us / total : 0);
  return {
    totalMs: total / 1000,
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: us / 1000, share: share(us) })),
    functions: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([name, f]) => ({ name, area: f.area, selfMs: f.us / 1000, share: share(f.us) })),
  };
}

function shortUrl(url: string, root: string): string {
  const path = pathOf(url);
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  return path.startsWith(root) ? relative(root, path) : path;
}
