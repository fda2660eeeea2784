/**
 * The audit against real MCP servers: the reference filesystem and everything
 * servers and the PostgreSQL server from npm, and the example upstreams.
 * Tools are listed over stdio with the audit's own connection code.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/audit/classify.js';
import { assessTool } from '../../src/audit/effective.js';
import { findPoisoning } from '../../src/audit/poisoning.js';
import { listServer, servers } from './servers.js';

const listed: Record<string, Tool[]> = {};

function risksOf(server: string, tool: string) {
  const found = listed[server]?.find((t) => t.name === tool);
  if (!found) throw new Error(`${server} does not list ${tool}`);
  return classify(found).risks;
}

beforeAll(async () => {
  const specs = servers();
  await Promise.all(
    Object.entries(specs).map(async ([name, spec]) => {
      listed[name] = await listServer(spec);
    }),
  );
}, 60_000);

describe('filesystem server', () => {
  it.each(['write_file', 'edit_file', 'move_file', 'create_directory'])(
    'flags %s as writing files',
    (tool) => {
      expect(risksOf('filesystem', tool)).toContain('writes_files');
    },
  );

  it('scores read_text_file as reading only, despite its free-form path', () => {
    expect(risksOf('filesystem', 'read_text_file')).toEqual(['reads_only']);
  });

  it('finds no poisoning in any of its tools', () => {
    expect((listed.filesystem ?? []).flatMap(findPoisoning)).toEqual([]);
  });
});

describe('PostgreSQL server', () => {
  it('flags its query tool as executing SQL', () => {
    expect(risksOf('postgres', 'query')).toContain('executes_sql');
  });

  it('scores its query tool critical although it says read-only', () => {
    const query = listed.postgres?.find((t) => t.name === 'query') as Tool;
    expect(assessTool('postgres', query).severity).toBe('critical');
  });
});

describe('everything server', () => {
  it('lists more than five tools through pagination-aware listing', () => {
    expect(listed.everything?.length).toBeGreaterThan(5);
  });

  it('flags the tool that returns environment variables as reading secrets', () => {
    const env = listed.everything?.find((t) => /env/i.test(t.name)) as Tool;
    expect(classify(env).risks).toContain('reads_secrets');
  });

  it('scores its echo tool below high', () => {
    const echo = listed.everything?.find((t) => t.name === 'echo') as Tool;
    expect(['low', 'medium']).toContain(assessTool('everything', echo).severity);
  });

  it('finds no poisoning in any of its tools', () => {
    expect((listed.everything ?? []).flatMap(findPoisoning)).toEqual([]);
  });
});

describe('example orders and mail servers', () => {
  it('flags run_sql as executing SQL', () => {
    expect(risksOf('orders', 'run_sql')).toContain('executes_sql');
  });

  it('flags delete_customer as destroying data', () => {
    expect(risksOf('orders', 'delete_customer')).toContain('destroys_data');
  });

  it('flags refund_order as moving money', () => {
    expect(risksOf('orders', 'refund_order')).toContain('moves_money');
  });

  it('flags send_email as sending data out', () => {
    expect(risksOf('mail', 'send_email')).toContain('sends_data_out');
  });

  it('scores get_order_status as reading only', () => {
    expect(risksOf('orders', 'get_order_status')).toEqual(['reads_only']);
  });
});
