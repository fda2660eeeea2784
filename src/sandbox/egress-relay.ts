/**
 * Moves an allowed tunnel's bytes without JavaScript per chunk. Once the
 * egress proxy has decided (name, addresses, SNI), nothing in the rest of a
 * CONNECT tunnel is inspected, so copying it through node, a read and a
 * write syscall per 64 KiB chunk on node's one thread, only costs. The two
 * connected sockets are handed to socat (already a CI package, used for the
 * jail's bridges), which copies them in C with 128 KiB buffers; node closes
 * its own descriptors and is out of the path.
 *
 * Bounded: at most `max` relays at once per proxy (a relay is a host process
 * the jail's pids limit does not count); past that, and where socat is not
 * installed, node pipes the tunnel as before. Closing the proxy kills every
 * relay it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';

export const SOCAT = '/usr/bin/socat';

export interface Relay {
  /**
   * Hands both sockets to a native relay, after whatever node already read from either side has
   * been passed on; resolves false when it cannot (the caller pipes them itself).
   */
  take(client: Socket, upstream: Socket): Promise<boolean>;
  closeAll(): void;
}

/**
 * Stops node reading from a socket and returns what it had already read: a paused stream still
 * fills its buffer from the kernel, and those bytes would be lost to the relay. `readStop` is the
 * handle's own (not part of net.Socket's typed surface), hence the narrow cast.
 */
function stopAndDrain(socket: Socket): Buffer[] {
  const handle = (socket as unknown as { _handle?: { readStop?: () => number } })._handle;
  handle?.readStop?.();
  const chunks: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null)
    chunks.push(chunk);
  return chunks;
}

function writeAll(socket: Socket, chunks: readonly Buffer[]): Promise<void> {
  if (chunks.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) =>
    socket.write(Buffer.concat(chunks), (e) => (e ? reject(e) : resolve())),
  );
}

export function createRelay(options: { max?: number; exists?: (path: string) => boolean } = {}): Relay {
  const available = (options.exists ?? existsSync)(SOCAT);
  const max = options.max ?? 32;
  const running = new Set<ChildProcess>();
  return {
    async take(client, upstream) {
      if (!available || running.size >= max) return false;
      client.pause();
      upstream.pause();
      const fromClient = stopAndDrain(client);
      const fromUpstream = stopAndDrain(upstream);
      try {
        await Promise.all([writeAll(upstream, fromClient), writeAll(client, fromUpstream)]);
      } catch {
        client.destroy();
        upstream.destroy();
        return true; // a side is gone: nothing left to relay
      }
      let child: ChildProcess;
      try {
        // fd 3 and 4 are the client and the far side; socat ends when both directions are done.
        child = spawn(SOCAT, ['-b', '131072', 'FD:3', 'FD:4'], {
          stdio: ['ignore', 'ignore', 'ignore', client, upstream],
        });
      } catch {
        client.resume();
        upstream.resume();
        return false;
      }
      running.add(child);
      child.once('exit', () => running.delete(child));
      child.once('error', () => running.delete(child));
      // Only this process's descriptors close; the connections live on in socat.
      client.destroy();
      upstream.destroy();
      return true;
    },
    closeAll() {
      for (const child of running) child.kill('SIGKILL');
      running.clear();
    },
  };
}
