// Runs INSIDE the jail, preloaded into every node process (NODE_OPTIONS=--require).
// Node 20's fetch ignores HTTP(S)_PROXY, and inside the jail there is no network
// but the egress proxy: without this, an agent's fetch fails. Its first fetch
// call installs, as undici's global dispatcher, an Agent of node's own bundled
// undici whose connector opens each connection as a CONNECT tunnel through the
// proxy (TLS is then started inside the tunnel, so certificates are checked
// end to end and the proxy can read only the SNI). Hosts in NO_PROXY connect
// directly. Nothing is loaded before the first fetch, so node starts as fast.
'use strict';
const net = require('node:net');
const tls = require('node:tls');

const proxy =
  process.env.HTTPS_PROXY || process.env.https_proxy || process.env.HTTP_PROXY || process.env.http_proxy;
const original = globalThis.fetch;
const DISPATCHER = Symbol.for('undici.globalDispatcher.1');

function bypass(host) {
  const list = (process.env.NO_PROXY || process.env.no_proxy || '')
    .split(',')
    .map((s) => s.trim().toLowerCase());
  const name = String(host)
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return list.some(
    (entry) => entry && (entry === '*' || name === entry || name.endsWith(`.${entry.replace(/^\./, '')}`)),
  );
}

function tunnel(target, proxyUrl, callback) {
  const socket = net.connect(Number(proxyUrl.port || 80), proxyUrl.hostname);
  let answer = Buffer.alloc(0);
  const fail = (error) => {
    socket.destroy();
    callback(error, null);
  };
  socket.once('error', fail);
  socket.once('connect', () => {
    const authority = target.hostname.includes(':')
      ? `[${target.hostname}]:${target.port}`
      : `${target.hostname}:${target.port}`;
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
  const onData = (chunk) => {
    answer = Buffer.concat([answer, chunk]);
    const end = answer.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.off('data', onData);
    socket.off('error', fail);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, end).toString('latin1'))?.[1]);
    if (status !== 200) {
      const reason = answer
        .subarray(end + 4)
        .toString('utf8')
        .trim();
      fail(
        new Error(
          `the egress proxy refused ${authorityOf(target)} (${status}${reason ? `: ${reason}` : ''})`,
        ),
      );
      return;
    }
    const rest = answer.subarray(end + 4);
    if (rest.length > 0) socket.unshift(rest);
    callback(null, socket);
  };
  socket.on('data', onData);
}

function authorityOf(target) {
  return `${target.hostname}:${target.port}`;
}

function install() {
  // Loads node's bundled undici (synchronously) and creates its default Agent, whose class we reuse.
  original('data:,').catch(() => undefined);
  const Agent = globalThis[DISPATCHER]?.constructor;
  if (typeof Agent !== 'function') return;
  const proxyUrl = new URL(proxy);
  globalThis[DISPATCHER] = new Agent({
    connect(options, callback) {
      const https = options.protocol === 'https:';
      const target = { hostname: options.hostname, port: Number(options.port || (https ? 443 : 80)) };
      const secure = (socket) => {
        if (!https) return callback(null, socket);
        const servername = options.servername || (net.isIP(target.hostname) ? undefined : target.hostname);
        const secured = tls.connect({ socket, servername, ALPNProtocols: ['http/1.1'] });
        secured.once('secureConnect', () => callback(null, secured));
        secured.once('error', (error) => callback(error, null));
      };
      if (bypass(target.hostname)) {
        const direct = net.connect(target.port, target.hostname, () => secure(direct));
        direct.once('error', (error) => callback(error, null));
        return;
      }
      tunnel(target, proxyUrl, (error, socket) => (error ? callback(error, null) : secure(socket)));
    },
  });
}

if (proxy && typeof original === 'function') {
  let installed = false;
  globalThis.fetch = function fetch(input, init) {
    if (!installed) {
      installed = true;
      try {
        install();
      } catch {
        // Leave fetch as it was; the agent sees the same failure it would without this file.
      }
    }
    return original(input, init);
  };
}
