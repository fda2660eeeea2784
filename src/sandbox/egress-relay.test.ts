import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEgressProxy } from './egress-proxy.js';
import { createRelay, type Relay } from './egress-relay.js';

describe('native relay for allowed tunnels', () => {
  it('hands a checked tunnel to socat, which carries every byte both ways after the first ones', async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const echoPort = (echo.address() as AddressInfo).port;
    const real = createRelay();
    let handed = 0;
    const relay: Relay = {
      take: async (client, upstream) => {
        const taken = await real.take(client, upstream);
        if (taken) handed++;
        return taken;
      },
      closeAll: () => real.closeAll(),
    };
    const proxy = createEgressProxy({ egress: [`127.0.0.1:${echoPort}`], onEvent: () => undefined, relay });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const socket = connect((proxy.address() as AddressInfo).port, '127.0.0.1');
    socket.write(`CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\n\r\n`);
    await once(socket, 'data'); // 200 Connection Established
    const payload = Buffer.alloc(4 * 1024 * 1024, 'x');
    let back = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('data', (chunk: Buffer) => {
        back += chunk.length;
        if (back >= payload.length + 3) resolve();
      }),
    );
    socket.write('SSH'); // not TLS, not HTTP: passed through once decided
    socket.write(payload);
    await done;
    expect(back).toBe(payload.length + 3);
    expect(handed).toBe(1);
    socket.destroy();
    proxy.close();
    echo.close();
  });

  it('falls back to piping in node where socat is missing or too many relays run', async () => {
    const none = createRelay({ exists: () => false });
    expect(await none.take({} as never, {} as never)).toBe(false);
    const full = createRelay({ max: 0 });
    expect(await full.take({} as never, {} as never)).toBe(false);
  });
});
