/** A credential in a table whose column is named for it: each went out bare on ed33a8e. */
import { describe, expect, it } from 'vitest';
import { openAiShapedKey } from '../../test/helpers/fake-keys.js';
import { expectLeftAlone, expectRedacted, secret } from '../../test/helpers/scrub-cases.js';
import { seeded } from '../../test/helpers/seeded.js';
import { findEncoded } from './decoded.js';
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
    'a CSV export with CRLF line ends': [
      `name,url,username,password\r\ngithub.com,https://github.com/,alice,${v}\r\n`,
      v,
    ],
    "Bitwarden's CSV export (login_password)": [
      `folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n,,login,GitHub,,,0,https://github.com,alice,${v},\n`,
      v,
    ],
    "KeePass's CSV export (a column name with a space)": [
      `"Account","Login Name","Password","Web Site","Comments"\n"GitHub","alice","${v}","https://github.com",""\n`,
      v,
    ],
    'a CSV introduced by a line ending in a colon': [
      `Contents of users.csv:\nuser,password\nalice,${v}\n`,
      v,
    ],
    'a semicolon-separated CSV': [`user;password\nalice;${v}\n`, v],
    'a quoted TSV cell': [`service\tsecret\nstripe\t"${v}"\n`, v],
    "sqlite3's list mode with headers": [`id|user|password\n1|alice|${v}\n`, v],
    "sqlite3's column mode (columns aligned under dash groups)": [
      `id  user   password\n--  -----  ----------------------\n1   alice  ${v}\n`,
      v,
    ],
    "az's table output (a password column)": [
      `AppId                                 Password                    Tenant\n------------------------------------  --------------------------  ------------------------------------\n0b7c1e3a-1111-2222-3333-444455556666  ${v}        72f988bf-86f1-41af-91ab-2d7cd011db47\n`,
      v,
    ],
    "psql's expanded display (\\x)": [`-[ RECORD 1 ]-------\nid       | 1\npassword | ${v}\n`, v],
    'a Markdown table without outer pipes': [`service | password\n--- | ---\ndb | ${v}\n`, v],
    'a single-column INSERT': [`INSERT INTO secrets (token) VALUES ('${v}');`, v],
    'an INSERT whose VALUES is on the next line': [
      `INSERT INTO users (username, password)\nVALUES ('admin', '${v}');`,
      v,
    ],
    'an INSERT after a statement with no secret column': [
      `INSERT INTO posts (id, title) VALUES (1, 'x'); INSERT INTO users (login, password) VALUES ('a', '${v}');`,
      v,
    ],
  });
  expectLeftAlone({
    'a CSV without a secret column': 'name,email,role\nalice,a@b.c,admin\n',
    'an aligned table of setting names under Key':
      'Key          Value\n-----------  -----\nmax_tokens   4096\nsort_order   created_at\n',
    'a sentence ending in a colon, then prose with a comma':
      'The key points:\nfirst, the token budget is fine\n',
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

  it('redacts every cell of a CSV of 20,000 secret cells, and the one repeated in a note after it', () => {
    // Each cell is a decoded run whose match is judged against the text's own spans (sorted once,
    // decoded-spans.ts); the planted value is also found in the text itself, after the table.
    // 24 distinct letters and digits: a value the assignment rule always takes.
    const rng = seeded(15);
    const cells = Array.from({ length: 20_000 }, () => openAiShapedKey(rng).slice(3));
    const planted = cells[12_345]!;
    const text = `user,password\n${cells.map((cell, k) => `u${k},${cell}`).join('\n')}\n\nnote: password=${planted}\n`;
    const lines = createScrubber().text(text).split('\n');
    const bare = lines.slice(1, 20_001).filter((line) => !/^u\d+,\[REDACTED:[a-z-]+\]$/.test(line));
    expect(bare).toEqual([]);
    expect(lines.at(-2)).not.toContain(planted);
  });

  describe('a keyword is read where the character it needs is the first of its kind (after a MIME body, which has none)', () => {
    // The reader searches for VALUES only after the text's first `)`, COPY only from a little
    // before its first `(`, RECORD only after its first `[` (table-cells.ts `keywordStarts`).
    const body = `Content-Transfer-Encoding: base64\n\n${Buffer.from('x'.repeat(3000))
      .toString('base64')
      .match(/.{1,76}/g)!
      .join('\n')}\n\n`;
    expectRedacted({
      "an INSERT whose column list's ) is the first": [
        `${body}INSERT INTO users (login, password) VALUES ('a', '${v}');`,
        v,
      ],
      'a COPY whose ( is the first, after the longest table name read (199 characters)': [
        `${body}COPY ${'t'.repeat(199)}(id, password) FROM stdin;\n1\t${v}\n\\.\n`,
        v,
      ],
      'a psql record whose -[ holds the first [': [
        `${body}-[ RECORD 1 ]-------\nid       | 1\npassword | ${v}\n`,
        v,
      ],
    });
  });

  describe('hostile tables are read once (what the reader writes stays proportional to the text)', () => {
    const size = 256 * 1024;
    const fill = (unit: string) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const texts: Record<string, string> = {
      'COPY … FROM stdin; repeated (each block over the next)': fill('COPY t (a, password) FROM stdin;\n'),
      'nested INSERT … VALUES (': fill('INSERT INTO t (password) VALUES ('),
      'a header and a blank line, repeated': fill('a,password\n\n'),
      'header, rule line, repeated': fill('| key | password |\n|---|---|\n'),
      'psql records over one another': fill(`-[ RECORD 1 ]--\npassword | ${v}\n`),
    };
    for (const [name, text] of Object.entries(texts)) {
      it(name, () => {
        const runs = findEncoded(text);
        expect(runs.text.length).toBeLessThanOrEqual(2 * text.length);
        expect(runs.count).toBeLessThanOrEqual(text.length / 8);
      });
    }

    it('a secret in a table after a hostile stretch is still redacted', () => {
      const text = `${fill('INSERT INTO t (password) VALUES (')}\n\nuser,password\nalice,${v}\n`;
      expect(createScrubber().text(text)).not.toContain(v);
    });
  });
});
