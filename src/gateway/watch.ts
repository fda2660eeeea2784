/**
 * Optional policy file watch (`bulkhead gateway --watch`): a reload after the
 * file changed. The folder is watched rather than the file, because editors
 * and config managers replace a file by renaming a new one over it, which
 * ends a watch on the old inode. Bursts of events (write, then rename, then
 * chmod) are folded into one reload.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

export function watchPolicyFile(file: string, onChange: () => void, debounceMs = 250): () => void {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
    if (changed !== null && changed !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  // A folder that disappears ends the watch; the gateway keeps its policy and keeps serving.
  watcher.on('error', () => watcher.close());
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
