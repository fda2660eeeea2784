import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';

function tool(partial: Partial<Tool> & { name: string }): Tool {
  return { inputSchema: { type: 'object' }, ...partial } as Tool;
}

describe('classify', () => {
  it('reads a destructive verb in the name as destroys data', () => {
    expect(classify(tool({ name: 'delete_customer' })).risks).toContain('destroys_data');
  });

  it('reads a refund as moving money', () => {
    expect(classify(tool({ name: 'refund_order', description: 'Refunds an order.' })).risks).toContain(
      'moves_money',
    );
  });

  it('reads sending mail as sending data out', () => {
    expect(classify(tool({ name: 'send_email', description: 'Sends an email.' })).risks).toContain(
      'sends_data_out',
    );
  });

  it('flags a free-form sql parameter as executes SQL, from its shape alone', () => {
    const c = classify(
      tool({ name: 'q', inputSchema: { type: 'object', properties: { sql: { type: 'string' } } } }),
    );
    expect(c.risks).toContain('executes_sql');
    expect(c.evidence).toContainEqual(expect.objectContaining({ risk: 'executes_sql', source: 'parameter' }));
  });

  it('flags a free-form command parameter as executes code', () => {
    const c = classify(
      tool({ name: 'x', inputSchema: { type: 'object', properties: { command: { type: 'string' } } } }),
    );
    expect(c.risks).toContain('executes_code');
  });

  it('does not count a parameter constrained by a pattern as free-form', () => {
    const c = classify(
      tool({
        name: 'x',
        inputSchema: { type: 'object', properties: { command: { type: 'string', enum: ['status'] } } },
      }),
    );
    expect(c.risks).toEqual(['reads_only']);
  });

  it('treats a query parameter as SQL only when the tool talks about a database', () => {
    const search = tool({
      name: 'search_docs',
      description: 'Searches the documentation.',
      inputSchema: { type: 'object', properties: { query: { type: 'string' } } },
    });
    const db = { ...search, name: 'ask_db', description: 'Queries the database tables.' };
    expect(classify(search).risks).not.toContain('executes_sql');
    expect(classify(db).risks).toContain('executes_sql');
  });

  it('finds free-form strings and open objects nested below the top level', () => {
    const c = classify(
      tool({
        name: 'x',
        inputSchema: {
          type: 'object',
          properties: {
            options: { type: 'object', properties: { script: { type: 'string' } } },
            extra: { type: 'object' },
          },
        },
      }),
    );
    expect(c.loose).toContainEqual({ path: 'options/script', shape: 'free_string' });
    expect(c.loose).toContainEqual({ path: 'extra', shape: 'open_object' });
    expect(c.risks).toContain('executes_code');
  });

  it('notes a top-level schema that allows unknown properties', () => {
    expect(classify(tool({ name: 'x' })).openTopLevel).toBe(true);
    expect(
      classify(tool({ name: 'x', inputSchema: { type: 'object', additionalProperties: false } }))
        .openTopLevel,
    ).toBe(false);
  });

  it('never lets readOnlyHint lower a risk the wording shows', () => {
    const c = classify(tool({ name: 'drop_table', annotations: { readOnlyHint: true } }));
    expect(c.risks).toContain('destroys_data');
  });

  it('reports a readOnlyHint that contradicts the wording as misleading', () => {
    const c = classify(tool({ name: 'drop_table', annotations: { readOnlyHint: true } }));
    expect(c.contradictions[0]).toMatch(/readOnlyHint: true, but it destroys data/);
  });

  it('never lets destructiveHint: false lower a destructive tool', () => {
    const c = classify(tool({ name: 'purge_cache', annotations: { destructiveHint: false } }));
    expect(c.risks).toContain('destroys_data');
  });

  it('raises a risk from destructiveHint on a harmless-sounding tool', () => {
    const c = classify(tool({ name: 'tidy', annotations: { destructiveHint: true } }));
    expect(c.risks).toContain('destroys_data');
    expect(c.evidence).toContainEqual(expect.objectContaining({ source: 'annotation' }));
  });

  it('lists risks worst first in a fixed order', () => {
    const c = classify(tool({ name: 'write_and_delete', description: 'Writes then deletes a file.' }));
    expect(c.risks).toEqual(['destroys_data', 'writes_files']);
  });

  it('calls a tool with no sign of side effects reads only', () => {
    expect(classify(tool({ name: 'get_order_status', description: 'Returns the status.' })).risks).toEqual([
      'reads_only',
    ]);
  });

  it('does not read a free-form path on a read tool as a write', () => {
    const c = classify(
      tool({
        name: 'read_text_file',
        description: 'Reads a file.',
        inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
      }),
    );
    expect(c.risks).toEqual(['reads_only']);
    expect(c.loose).toContainEqual({ path: 'path', shape: 'free_string' });
  });
});
