/** A credential in a table whose column is named for it: each went out bare on 541d4e7. */
import { describe, expect, it } from 'vitest';
import { expectLeftAlone, expectRedacted, secret } from '../../test/helpers/scrub-cases.js';
import { createScrubber } from './index.js';

describe('a credential under a column named for it', () => {
  const v = secret(20, 121);
  const w = secret(16, 122);
  expectRedacted({
    "a browser's password export (CSV)": [
      `name,url,username,password\ngithub.com,https://github.com/,alice,${v}\n`,
      v,
    ],
    "a password manager's export, every field quoted": [
      `"name","url","username","password","note"\n"GitHub","https://github.com","alice","${v}",""\n`,
      v,
    ],
    'a later row of a CSV export': [
      `url,username,password\nhttps://a.example,bob,${w}x\nhttps://b.example,eve,${v}\n`,
      v,
    ],
    'a TSV after a blank line': [`Exported:\n\nservice\tsecret\nstripe\t${v}\n`, v],
    'a Markdown table': [`| service | user | password |\n|---|---|---|\n| db | admin | ${v} |\n`, v],
    "psql's printed table": [
      ` id | email | password\n----+-------+----------\n  1 | a@b.c | ${v}\n(1 row)\n`,
      v,
    ],
    "mysql's boxed table": [
      `+----+-------+----------------------+\n| id | user  | api_key              |\n+----+-------+----------------------+\n|  1 | alice | ${v} |\n+----+-------+----------------------+\n`,
      v,
    ],
    'a SQL INSERT': [`INSERT INTO users (username, password) VALUES ('admin', '${v}');`, v],
    'the second row of a multi-row INSERT': [
      `insert into accounts (id, email, api_token) values (1, 'a@b.c', '${w}x'), (2, 'd@e.f', '${v}');`,
      v,
    ],
    "a mysqldump's INSERT with backquoted names": [
      `INSERT INTO \`users\` (\`id\`, \`login\`, \`password\`) VALUES (7,'root','${v}');`,
      v,
    ],
    'a pg_dump COPY block': [`COPY public.users (id, email, password) FROM stdin;\n1\ta@b.c\t${v}\n\\.\n`, v],
  });
  expectLeftAlone({
    'a CSV without a secret column': 'name,email,role\nalice,a@b.c,admin\n',
    'a table of sort keys': '| key | value |\n|---|---|\n| sort_key | created_at_desc |\n',
    'prose with commas after the word token': 'Hello, the token was fine, thanks\nsee you, bob\n',
    'a key-binding table': '| Option | Key binding |\n|---|---|\n| Save | Ctrl+S |\n',
    'a password column of placeholders': 'user,password\nalice,changeme\nbob,<redacted>\n',
    'an INSERT with no secret column':
      "INSERT INTO posts (id, title) VALUES (1, 'Quarterly results and plans');",
  });

  it('redacts the cell and leaves the rest of its row', () => {
    const out = createScrubber().text(`user,password,role\nalice,${v},admin\n`);
    expect(out).toBe('user,password,role\nalice,[REDACTED:generic-secret-assignment],admin\n');
  });
});
