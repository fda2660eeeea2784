/**
 * Secrets given by position, where no name stands beside the value:
 *
 * - the password argument of a call that takes a user and a password (`requests.get(url,
 *   auth=("admin", "…"))`, `HTTPBasicAuth(…)`, `smtp.login(user, "…")`, `SetBasicAuth`,
 *   `NetworkCredential`, `PasswordAuthentication`): source an agent reads, a notebook's cell;
 * - a shell transcript that echoes a secret variable (`$ echo $ANTHROPIC_API_KEY`, `printenv
 *   GITHUB_TOKEN`): the value stands alone on the next line.
 *
 * Each went out bare on 7a4e64c. Only a quoted literal is taken (a variable is no secret), gated
 * as a command's argument is.
 */
import { secretArgument } from './command-arguments.js';
import type { SecretRule } from './types.js';

/** Calls whose arguments are a user, then a password (case folded: `HTTPBasicAuth(`, `basicAuth(`). */
const PAIR_CALLS = [
  'auth=(',
  'auth =(',
  'auth= (',
  'auth = (',
  'basicauth(',
  'digestauth(',
  '.login(',
  '.auth(',
  'networkcredential(',
  'passwordauthentication(',
  'passwordcredentials(',
];

export const codeCredentialRules: readonly SecretRule[] = [
  {
    id: 'code-credential-pair',
    description:
      "the password in a call's user and password arguments (auth=(user, pass), HTTPBasicAuth, .login)",
    anchors: PAIR_CALLS,
    anyCase: true,
    spaces: true,
    spacesWithin: 120,
    pattern: `(?:auth[ \\t]?=[ \\t]?|basicauth|digestauth|\\.login|\\.auth|networkcredential|passwordauthentication|passwordcredentials)\\([ \\t]{0,4}(?:["'\`][^"'\`\\r\\n]{1,64}["'\`]|[A-Za-z_][A-Za-z0-9_.]{0,48})[ \\t]{0,4},[ \\t]{0,4}["'\`]([^"'\`\\s\\\\]{6,256})(?=["'\`])`,
    group: 1,
    accept: secretArgument,
    maxLength: 420,
  },
  {
    id: 'shell-echoed-secret',
    description:
      'a secret variable echoed in a shell transcript (echo $API_KEY, printenv TOKEN): the value on the next line',
    anchors: ['echo $', 'echo "$', 'echo ${', 'printenv '],
    anyCase: true,
    spaces: true,
    spacesWithin: 100,
    pattern:
      '(?:echo[ \\t]{1,4}"?\\$\\{?|printenv[ \\t]{1,4})[A-Za-z0-9_]{0,40}(?:key|token|secret|passw(?:or)?d|pass|pwd|credentials?)[A-Za-z0-9_]{0,24}\\}?"?[ \\t]{0,8}\\r?\\n([^\\s]{8,512})(?!\\S)',
    group: 1,
    accept: secretArgument,
    maxLength: 640,
  },
];
