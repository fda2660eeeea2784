/**
 * Passwords a command takes as an argument rather than after a named flag: a short flag
 * (`docker login -p`, `sqlcmd -P`, `7z -pSECRET`), a position (`htpasswd -b file user PASSWORD`,
 * `net user NAME PASSWORD`), `user%password` (Samba), a tool's own `config set NAME VALUE`. Shell
 * history, `ps`, CI logs and scripts show them, and a name is no help: the command is. Gated by
 * entropy as the assignment rule is; a `-` or `$` value is a flag or a variable, not a secret.
 */
import { looksLikeSecretValue } from './generic.js';
import { escapeRegex, type SecretRule } from './types.js';

/** The OpenLDAP clients that bind with a password. */
const LDAP_TOOLS = [
  'ldapsearch',
  'ldapmodify',
  'ldapadd',
  'ldapdelete',
  'ldapwhoami',
  'ldappasswd',
  'ldapcompare',
  'ldapmodrdn',
  'ldapexop',
];

interface ShortFlagCommands {
  readonly commands: readonly string[];
  /** The flag (regex source), case as the command spells it: `-p` is not `-P`. */
  readonly flag: string;
  /** Whether a space or `=` must separate the value (a flag whose name goes on: openssl's `-key`). */
  readonly separated?: boolean;
}

/** Commands that take a password as a short flag, and the flag. */
const SHORT_FLAG_COMMANDS: readonly ShortFlagCommands[] = [
  { commands: ['docker login', 'podman login', 'nerdctl login', 'sshpass', 'redis-cli'], flag: '-[pa]' },
  // The bind password is `-w` (`-W` prompts), ldappasswd's new one `-s`.
  { commands: LDAP_TOOLS, flag: '-[ws]' },
  { commands: ['sqlcmd', 'bcp'], flag: '-P' },
  {
    commands: ['mongosh', 'mongo', 'mongodump', 'mongorestore', 'mongoexport', 'mongoimport', 'mongostat'],
    flag: '-p',
  },
  { commands: ['psexec', 'PsExec', 'psexec64', 'PsExec64', 'paexec'], flag: '-p' },
  { commands: ['zip', 'unzip'], flag: '-P' },
  { commands: ['7z', '7za', '7zz', 'rar', 'unrar'], flag: '-p' },
  { commands: ['openssl'], flag: '-k', separated: true },
  { commands: ['az login'], flag: '-p' },
  { commands: ['doctl auth init'], flag: '-t' },
  // macOS's keychain: the password after -w (went out bare on e41e099).
  {
    commands: ['security add-generic-password', 'security add-internet-password'],
    flag: '-w',
    separated: true,
  },
];

const shortFlagAlternative = ({ commands, flag, separated }: ShortFlagCommands): string =>
  `(?:${commands.map(escapeRegex).join('|')})(?=[ \\t])[^\\r\\n|;&]{0,256}? ${flag}(?:[ \\t]{1,4}|=)${separated ? '' : '?'}`;

/** A value that is a flag or a switch (`/add`), a variable or a prompt's `*`, not a password. */
const notAValue = (value: string) => /^[-$*/]/.test(value);
export const secretArgument = (value: string): boolean => looksLikeSecretValue(value, 2) && !notAValue(value);

/** `tool config set NAME VALUE` for the tools that store settings so, NAME naming a secret. */
const CONFIG_SETTERS = [
  'aws configure set',
  'npm config set',
  'yarn config set',
  'pnpm config set',
  'gcloud config set',
  'pip config set',
  'git config',
  'netlify env:set',
  'dotnet user-secrets set',
];

/** Commands that read a password from their stdin (chpasswd's lines are `user:password`). */
const STDIN_COMMANDS = [
  'chpasswd',
  'passwd[ \\t]{1,4}--stdin',
  'smbpasswd[ \\t]{1,4}-s',
  'wrangler[ \\t]{1,4}secret[ \\t]{1,4}put',
  'vercel[ \\t]{1,4}env[ \\t]{1,4}add',
];
/** After a pipe: one of them, or a command that takes `--password-stdin` (docker, helm, oras). */
const STDIN_READERS = [...STDIN_COMMANDS, '[^\\r\\n|;&]{0,160}?--password-stdin'].join('|');
/** Before a here-string's `<<<`, on its line. */
const HERESTRING_READERS = `(?:${[...STDIN_COMMANDS, '--password-stdin'].join('|')})[^\\r\\n|;&<]{0,128}`;
/** A password read from stdin: chpasswd's `user:` first. */
const PIPED_USER = '(?:[A-Za-z0-9_.-]{1,32}:)?';

const PIPED_VALUE = '[^\\s"\'`:|;&]{6,256}';

export const commandArgumentRules: readonly SecretRule[] = [
  {
    id: 'cli-password-short-flag',
    spaces: true,
    spacesWithin: 300,
    description:
      'a password given to a short flag of a command that takes one so (docker login -p, sshpass -p, redis-cli -a, ldapsearch -w, sqlcmd -P, 7z -p)',
    anchors: SHORT_FLAG_COMMANDS.flatMap(({ commands }) => commands.map((command) => `${command} `)),
    pattern: `(?<![A-Za-z0-9_.-])(?:${SHORT_FLAG_COMMANDS.map(shortFlagAlternative).join('|')})["']?([^\\s"'\`]{6,256})`,
    group: 1,
    maxLength: 580,
    accept: secretArgument,
  },
  {
    id: 'cli-positional-password',
    spaces: true,
    spacesWithin: 410,
    description:
      'a password a command takes in a position of its own (htpasswd -b, net user, rabbitmqctl add_user, smbclient -U user%password, ConvertTo-SecureString)',
    anchors: [
      'htpasswd ',
      'net user ',
      'add_user ',
      'change_password ',
      'authenticate_user ',
      'smbclient ',
      'rpcclient ',
      'smbcacls ',
      'smbget ',
      'convertto-securestring ',
      'vault login ',
    ],
    anyCase: true,
    // What stands before the password, per command; the password is read by one group after.
    pattern: `(?:${[
      // htpasswd's -b takes it as the last argument: the line (or command) ends after it.
      `htpasswd[ \\t][^\\r\\n|;&]{0,128}?-[a-z]{0,6}b[^\\r\\n|;&]{0,256}?[ \\t](?=["']?[^\\s"'\`|;&]{6,256}["']?[ \\t]{0,8}(?:$|[\\r\\n|;&]))`,
      `net user[ \\t]{1,4}["']?[^\\s"'/]{1,64}["']?[ \\t]{1,4}`,
      `(?:add_user|change_password|authenticate_user)[ \\t]{1,4}["']?[^\\s"']{1,64}["']?[ \\t]{1,4}`,
      `(?:smbclient|rpcclient|smbcacls|smbget)[ \\t][^\\r\\n|;&]{0,256}?(?:-U|--user(?:name)?)[ \\t=]{0,4}["']?[^\\s%"']{1,64}%`,
      `convertto-securestring[ \\t]{1,4}(?:-string[ \\t]{1,4})?(?=["'])`,
      // Vault's token as the only argument (`token=…` is the assignment rule's).
      `vault login[ \\t]{1,4}(?=[^\\s=]{6,256}(?:\\s|$))`,
    ].join('|')})["']?([^\\s"'\`|;&]{6,256})`,
    group: 1,
    accept: secretArgument,
    maxLength: 680,
  },
  {
    id: 'cli-config-set-secret',
    spaces: true,
    spacesWithin: 220,
    description:
      "a secret stored with a tool's own config setter (aws configure set, npm config set, git config)",
    anchors: CONFIG_SETTERS.map((setter) => `${setter} `),
    anyCase: true,
    pattern: `(?:${CONFIG_SETTERS.join('|')})[ \\t][^\\r\\n|;&]{0,80}?[^\\s=]{0,60}(?:secret|token|passw(?:or)?d|api[_:-]?key|auth)[^\\s=]{0,40}[ \\t]{1,4}["']?([^\\s"'\`]{6,256})`,
    group: 1,
    accept: secretArgument,
  },
  {
    id: 'cli-piped-password',
    spaces: true,
    spacesWithin: 64,
    description:
      'a password echoed into a command that reads it from stdin (chpasswd, passwd --stdin, docker login --password-stdin)',
    anchors: ['echo ', 'printf '],
    // The value comes before the command that says what it is: the pipe is read ahead, before
    // the value's group, so the match itself holds no whitespace after its value.
    pattern: `(?<![A-Za-z0-9_.-])(?:echo|printf)[ \\t]{1,4}(?:-[en]{1,2}[ \\t]{1,4})?(?:'%s(?:\\\\n)?'[ \\t]{1,4})?["']?${PIPED_USER}(?=${PIPED_VALUE}["']?[ \\t]{0,4}\\|[ \\t]{0,4}(?:(?:sudo|npx|bunx)[ \\t]{1,4})?(?:${STDIN_READERS}))(${PIPED_VALUE})`,
    group: 1,
    accept: secretArgument,
    maxLength: 600,
  },
  {
    id: 'cli-echo-to-secret-file',
    spaces: true,
    spacesWithin: 64,
    description: 'a secret echoed into a credential file (echo "…" > ~/.vault-token, >> ~/.git-credentials)',
    anchors: ['echo ', 'printf '],
    // The file that says what it is comes after the value: read ahead, as for a pipe. Went out
    // bare on ab0cc7f.
    pattern: `(?<![A-Za-z0-9_.-])(?:echo|printf)[ \\t]{1,4}(?:-[en]{1,2}[ \\t]{1,4})?["']?(?=${PIPED_VALUE}["']?[ \\t]{0,4}>{1,2}[ \\t]{0,4}[^\\s;&|]{0,200}?(?:token|secret|passw|credential|api_?key|\\.pem|\\.key(?![A-Za-z0-9])|netrc|pgpass))(${PIPED_VALUE})`,
    group: 1,
    accept: secretArgument,
    maxLength: 600,
  },
  {
    id: 'cli-herestring-password',
    spaces: true,
    spacesWithin: 48,
    description:
      'a password given as a here-string to a command that reads it from stdin (wrangler secret put NAME <<< …, --password-stdin <<< …)',
    anchors: ['<<<'],
    // From the here-string's mark, its command read back on the same line.
    pattern: `<<<(?<=${HERESTRING_READERS}<<<)[ \\t]{0,4}["']?${PIPED_USER}(${PIPED_VALUE})`,
    group: 1,
    accept: secretArgument,
    contextBefore: 300,
  },
];
