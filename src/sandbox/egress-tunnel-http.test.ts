import { describe, expect, it } from 'vitest';
import { classifyPlain, hostMatches } from './egress-tunnel-http.js';
import { gatewayPath } from './gateway-bridge.js';

const b = (text: string) => Buffer.from(text, 'latin1');

describe('plain HTTP inside a tunnel', () => {
  it('takes an HTTP/1 request line for HTTP, also after empty lines and once the CR is in', () => {
    expect(classifyPlain(b('GET / HTTP/1.1\r\n'))).toBe('http');
    expect(classifyPlain(b('\r\n\r\nPOST /x HTTP/1.0\n'))).toBe('http');
    expect(classifyPlain(b('PRI * HTTP/2.0\r\n'))).toBe('http');
  });

  it('waits for the rest of a request line that arrives a byte at a time', () => {
    for (const part of ['G', 'GET', 'GET ', 'GET / HTTP/1.1', 'GET / HTTP/1.1\r'])
      expect(classifyPlain(b(part)), part).toBe('incomplete');
  });

  it('lets other protocols through without waiting', () => {
    expect(classifyPlain(b('SSH-2.0-OpenSSH_9.2\r\n'))).toBe('other');
    expect(classifyPlain(b('\u0000\u0000\u0000\u0008'))).toBe('other');
    expect(classifyPlain(b('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n'))).toBe('other');
    expect(classifyPlain(b('PING\r\n'))).toBe('other');
    expect(classifyPlain(b('SET key value\r\n'))).toBe('other');
  });

  it('tells a request line some lenient server would still take from HTTP node parses', () => {
    for (const line of [
      'GET  / HTTP/1.1\r\n',
      'GET\t/\tHTTP/1.1\r\n',
      'GET / HTTP/1.1 \r\n',
      ' GET / HTTP/1.1\r\n',
      'GET / http/1.1\r\n',
      'GET / HTTP/1.1\rHost: x\r',
      'GET /\r\n',
      'GET http://other.example/\n',
      `GET /${'a'.repeat(9000)}`,
    ])
      expect(classifyPlain(b(line)), JSON.stringify(line.slice(0, 30))).toBe('http-like');
  });

  it('finds a PROXY protocol header, v1 or v2, also the start of one', () => {
    expect(classifyPlain(b('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n'))).toBe('proxy-header');
    expect(classifyPlain(b('\r\n\r\n\0\r\nQUIT\n!'))).toBe('proxy-header');
    expect(classifyPlain(b('\r\n\r\n\0'))).toBe('incomplete');
  });

  it("matches a Host header against the tunnel's host and port", () => {
    expect(hostMatches('api.example.com', 'api.example.com', 80)).toBe(true);
    expect(hostMatches('API.example.com.:80', 'api.example.com', 80)).toBe(true);
    expect(hostMatches('api.example.com:8080', 'api.example.com', 80)).toBe(false);
    expect(hostMatches('other.example.com', 'api.example.com', 80)).toBe(false);
    expect(hostMatches('[::1]:80', '::1', 80)).toBe(true);
    expect(hostMatches('api.example.com@evil', 'api.example.com', 80)).toBe(false);
    expect(hostMatches('', 'api.example.com', 80)).toBe(false);
  });
});

describe('gateway paths from inside the jail', () => {
  it('forwards /mcp and the LLM proxy under /v1/, with the query', () => {
    expect(gatewayPath('/mcp')).toEqual({ ok: true, path: '/mcp' });
    expect(gatewayPath('/v1/messages?beta=true')).toEqual({ ok: true, path: '/v1/messages?beta=true' });
  });

  it('refuses the operator API, the dashboard, metrics and every disguise of them', () => {
    for (const url of [
      '/api/runs',
      '/ui',
      '/metrics',
      '/mcp/',
      '/mcpx',
      '/v1',
      '/v1/../api/runs',
      '/v1/%2e%2e/api',
      '/v1/..%2fapi',
      '/v1\\..\\api',
      '//evil/v1/x',
      'http://127.0.0.1:7300/v1/x',
      '*',
    ])
      expect(gatewayPath(url).ok, url).toBe(false);
  });
});
