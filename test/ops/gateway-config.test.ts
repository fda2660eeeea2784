/**
 * `bulkhead gateway` configured as operators do it: from the environment (a
 * systemd unit, a container) as well as flags, with TLS terminated by the
 * gateway itself. A bad value stops the start with a message naming its
 * source, before anything listens.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { echoPolicy, ROOT, tempDir } from '../helpers/harness.js';

const POLICY = echoPolicy(undefined);

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

function policyDir(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'policy.yaml'), POLICY);
  return dir;
}

/** Starts the real CLI and resolves with the URL its banner prints. */
function startCli(env: Record<string, string>, args: string[] = []): Promise<string> {
  const dir = tempDir();
  const child = spawn(process.execPath, [join(ROOT, 'bin/bulkhead.js'), 'gateway', ...args], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      BULKHEAD_FROM_SOURCE: '1',
      BULKHEAD_HOME: join(dir, 'home'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (\S+)/.exec(out)?.[1];
      if (url) resolve(url);
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${out}`)));
  });
}

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

// Each case starts the real CLI from source; on a loaded machine that alone can take many seconds.
describe('configuration from the environment', { timeout: 120_000 }, () => {
  it('starts from environment variables alone: policy, host, port, log level and store', async () => {
    const dir = policyDir();
    const store = join(dir, 'elsewhere', 'state.db');
    const url = await startCli({
      BULKHEAD_POLICY: join(dir, 'policy.yaml'),
      BULKHEAD_HOST: '127.0.0.1',
      BULKHEAD_PORT: '0',
      BULKHEAD_LOG_LEVEL: 'warn',
      BULKHEAD_STORE_URL: store,
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(existsSync(store)).toBe(true);
    expect(existsSync(join(dir, 'bulkhead.db'))).toBe(false);
  });

  it('lets a flag win over its environment variable', async () => {
    const dir = policyDir();
    const result = await bulkhead(['gateway', '--log-level', 'loud'], {
      env: { BULKHEAD_POLICY: join(dir, 'policy.yaml'), BULKHEAD_LOG_LEVEL: 'info' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'loud' is invalid");
  });

  it('refuses a log level that does not exist, naming the choices', async () => {
    const result = await bulkhead(['gateway'], {
      env: { BULKHEAD_POLICY: join(policyDir(), 'policy.yaml'), BULKHEAD_LOG_LEVEL: 'verbose' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/verbose.*Allowed choices are fatal, error, warn, info/s);
  });

  it('refuses a port that is not a number, naming the variable', async () => {
    const result = await bulkhead(['gateway'], {
      env: { BULKHEAD_POLICY: join(policyDir(), 'policy.yaml'), BULKHEAD_PORT: 'http' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('BULKHEAD_PORT: expected a port number, found "http"');
  });

  it('says which variable is missing when no policy is given', async () => {
    const result = await bulkhead(['gateway']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('BULKHEAD_POLICY');
  });
});

describe('TLS terminated by the gateway', { timeout: 120_000 }, () => {
  it('serves HTTPS with the given certificate and key', async () => {
    const dir = policyDir();
    const { cert, key } = selfSignedCert(dir);
    const url = await startCli({
      BULKHEAD_POLICY: join(dir, 'policy.yaml'),
      BULKHEAD_PORT: '0',
      BULKHEAD_TLS_CERT: cert,
      BULKHEAD_TLS_KEY: key,
    });
    expect(url).toMatch(/^https:\/\//);
    const status = await new Promise<number>((resolve, reject) => {
      get(`${url}/healthz`, { ca: execFileSync('cat', [cert]) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).once('error', reject);
    });
    expect(status).toBe(200);
  });

  it('refuses a certificate without its key', async () => {
    const dir = policyDir();
    const { cert } = selfSignedCert(dir);
    const result = await bulkhead(['gateway', '--tls-cert', cert], {
      env: { BULKHEAD_POLICY: join(dir, 'policy.yaml') },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TLS needs both --tls-cert');
  });

  it('refuses a key file that is not PEM, naming the file', async () => {
    const dir = policyDir();
    const { cert } = selfSignedCert(dir);
    writeFileSync(join(dir, 'junk.key'), 'not a key');
    const result = await bulkhead(['gateway', '--tls-cert', cert, '--tls-key', join(dir, 'junk.key')], {
      env: { BULKHEAD_POLICY: join(dir, 'policy.yaml') },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('junk.key is not a PEM file');
  });
});
