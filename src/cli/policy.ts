/** `bulkhead policy schema`: the policy's JSON Schema, for editors and CI checks. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { policyJsonSchema } from '../policy/json-schema.js';
import { action, EXIT, line } from './output.js';

export function register(program: Command): void {
  const policy = program.command('policy').description('work with policy files');
  policy
    .command('schema')
    .description("print the policy's JSON Schema (for editors: yaml-language-server $schema)")
    .option('--out <file>', 'write it to a file instead')
    .action(
      action(async (opts: { out?: string }) => {
        const text = `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
        if (opts.out) line(`wrote ${opts.out}`);
        return EXIT.ok;
      }),
    );
}
