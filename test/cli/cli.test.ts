/**
 * The CLI contract from DESIGN.md, exercised through the real executable
 * against a real gateway: run --detach --json, run --no-sandbox, runs, kill,
 * and the exit codes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentRun, bulkhead, useCliGateway } from '../helpers/cli.js';
import { echoPolicy } from '../helpers/harness.js';

const POLICY = echoPolicy();

const cli = useCliGateway(POLICY);

describe('bulkhead run --detach --json', () => {
  it('creates a run and prints run_id, token, mcp_url, expires_at, a one-time OAuth grant and the LLM base URL', async () => {
    const result = await bulkhead(
      ['run', '--policy', cli.policyFile, '--profile', 'agent', '--detach', '--json'],
      { env: cli.env },
    );
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout) as Record<string, string | null>;
    expect(Object.keys(created)).toEqual(
      expect.arrayContaining([
        'expires_at',
        'mcp_url',
        'run_id',
        'token',
        'grant',
        'grant_expires_at',
        'llm_base_url',
      ]),
    );
    // The one-time grant for an OAuth client that cannot send the token as a header.
    expect(created.grant).toMatch(/^bhg_[A-Za-z0-9_-]{43}$/);
    // This policy has no llm: section, so there is no proxy to point an agent at.
    expect(created.llm_base_url).toBeNull();
    expect(created.mcp_url).toBe(`${cli.gw.gateway.url}/mcp`);
    expect((await cli.gw.gateway.runs.get(created.run_id as string))?.state).toBe('active');
  });

  it('exits 2 naming the profiles when the profile does not exist', async () => {
    const result = await bulkhead(['run', '--policy', cli.policyFile, '--profile', 'nope', '--detach'], {
      env: cli.env,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no profile named "nope" (have: agent)');
  });
});

describe('bulkhead run --no-sandbox', () => {
  it('gives the command its run id, MCP URL and token, and records its exit code', async () => {
    const script =
      'const e=process.env; console.log(JSON.stringify({id:e.BULKHEAD_RUN_ID,url:e.BULKHEAD_MCP_URL,t:!!e.BULKHEAD_TOKEN})); process.exit(3)';
    const result = await bulkhead(agentRun(cli, ['--no-sandbox'], [process.execPath, '-e', script]), {
      env: cli.env,
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('--no-sandbox');
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as {
      id: string;
      url: string;
      t: boolean;
    };
    expect(seen.url).toBe(`${cli.gw.gateway.url}/mcp`);
    expect(seen.t).toBe(true);
    const run = await cli.gw.gateway.runs.get(seen.id);
    expect(run).toMatchObject({ state: 'completed', exitCode: 3 });
  });
});

describe('bulkhead runs and kill', () => {
  it('lists runs as JSON', async () => {
    const { run } = await cli.gw.gateway.runs.create('agent', { label: 'listed' });
    const result = await bulkhead(['runs', '--json'], { env: cli.env });
    expect(result.code).toBe(0);
    const runs = JSON.parse(result.stdout) as { id: string; state: string }[];
    expect(runs.find((r) => r.id === run.id)?.state).toBe('active');
  });

  it('prints a readable table for people, with usage against each budget', async () => {
    const result = await bulkhead(['runs'], { env: cli.env });
    expect(result.stdout.split('\n')[0]).toMatch(/^RUN\s+PROFILE\s+STATE\s+AGE\s+CALLS\s+CLOCK/);
    expect(result.stdout).toMatch(/\s0\/∞\s/);
  });

  it('kills a run so it is no longer active', async () => {
    const { run } = await cli.gw.gateway.runs.create('agent');
    const result = await bulkhead(['kill', run.id], { env: cli.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`killed ${run.id}`);
    expect((await cli.gw.gateway.runs.get(run.id))?.state).toBe('killed');
  });

  it('refuses without a valid operator token', async () => {
    const result = await bulkhead(['runs'], { env: { ...cli.env, BULKHEAD_OPERATOR_TOKEN: 'bho_wrong' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('An operator token is required.');
  });

  it('says clearly when no gateway answers', async () => {
    const result = await bulkhead(['runs'], { env: { ...cli.env, BULKHEAD_GATEWAY: 'http://127.0.0.1:9' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no gateway answers at http://127.0.0.1:9');
  });
});

describe('bulkhead gateway', () => {
  it('exits 2 with file:line:column for a broken policy', async () => {
    const broken = join(cli.gw.dir, 'broken.yaml');
    writeFileSync(broken, POLICY.replace('class: read', 'class: reed'));
    const result = await bulkhead(['gateway', '--policy', broken, '--port', '0'], { env: cli.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${broken}:10:20: tools.everything.echo.class: expected`);
  });

  it('exits 2 on an unknown option', async () => {
    const result = await bulkhead(['runs', '--bogus'], { env: cli.env });
    expect(result.code).toBe(2);
  });
});
