/**
 * A secret told in a sentence rather than assigned: "Your new password is: …", "the API key is
 * …", "token was reset to …". Password-reset mails, chat transcripts, tickets and an agent's own
 * notes say it so, and no separator the assignment rule reads stands between name and value.
 * The anchors are the phrase itself (`password is `), so prose that only mentions a password
 * costs nothing. A sentence's words are not secrets: the value must hold something other than
 * lower-case letters (a digit, a capital after its first letter, a symbol), and be random enough.
 */
import { looksLikeSecretValue } from './generic.js';
import type { SecretRule } from './types.js';

const NAMES = ['password', 'passwd', 'passphrase', 'passcode', 'secret', 'token', 'api key', 'access key'];
const VERBS = [
  'is',
  'is:',
  'was',
  'will be',
  'is now',
  'set to',
  'changed to',
  'reset to',
  'was set to',
  'was changed to',
  'was reset to',
  'has been set to',
  'has been changed to',
  'has been reset to',
];

/** Words of prose: lower-case letters, a capital first, hyphens, a sentence's end after them. */
const PROSE_WORD = /^[A-Z]?[a-z]+(?:-[a-z]+)*[.,;:!?]?$/;

/**
 * Phrases that tell a secret follows below (`use the following password …:`), and a name then
 * what happened to it (`Token created: …`, `Password for admin: …`). Few, and whole phrases: every
 * anchor grows the automaton all rules share (a phrase per name and lead word took it past its
 * dense loop's table), and anchors as common as a bare name ran these rules at every `token=` and
 * spent the work budget of ordinary text.
 */
const BELOW = [
  'following password',
  'following token',
  'following secret',
  'following api key',
  'your password',
  'your new password',
  'your token',
  'your new token',
  'your api key',
  'your new api key',
  'your secret',
  'initial password',
  'initial admin password',
  'generated password',
  'generated token',
  'temporary password',
];
const EVENTS = [
  'password for ',
  'token for ',
  'password generated',
  'token generated',
  'token created',
  'api key created',
  'secret created',
  'secret generated',
  'user successfully reset.',
];

const secretWord = (value: string) => looksLikeSecretValue(value) && !PROSE_WORD.test(value);

export const proseStatementRules: readonly SecretRule[] = [
  {
    id: 'prose-secret-statement',
    spaces: true,
    spacesWithin: 40,
    description: 'a secret told in a sentence (Your new password is: …, the API key is …)',
    anchors: NAMES.flatMap((name) => VERBS.map((verb) => `${name} ${verb} `)),
    anyCase: true,
    pattern: `(?:${NAMES.join('|')}) (?:${VERBS.join('|')})[ \\t]{1,4}["'\`]?([^\\s"'\`<>]{8,256})`,
    group: 1,
    accept: secretWord,
  },
  {
    // `Token created: …`, `Generated password for admin: …` (a setup script's last line): the
    // name, an event or the account, a colon, the value. Each went out bare on bec358b.
    id: 'prose-secret-event',
    spaces: true,
    spacesWithin: 120,
    description: 'a secret announced with what happened to it (Token created: …, Password for admin: …)',
    anchors: EVENTS,
    anyCase: true,
    // The last anchor is elasticsearch-reset-password's: `Password for the [elastic] user
    // successfully reset.` then `New value: …` on the next line.
    pattern: `(?:(?:${NAMES.join('|')}) (?:created|generated|for(?: user)?[ \\t]{1,4}["'\\[]?[A-Za-z0-9_.@-]{1,64}["'\\]]?)[ \\t]{0,2}|user successfully reset\\.[ \\t]{0,4}\\r?\\n[ \\t]{0,4}new value[ \\t]{0,2}):[ \\t]{1,4}["'\`]?([^\\s"'\`<>]{8,256})`,
    group: 1,
    accept: secretWord,
  },
  {
    // A setup wizard's or a console's message that ends in a colon, the value alone on a line
    // below (Jenkins' initial admin password, `Here is your API key …:`). Each went out bare on
    // bec358b.
    id: 'prose-secret-below',
    spaces: true,
    spacesWithin: 200,
    description: 'a secret on a line of its own below a sentence that names it (use the following password:)',
    anchors: BELOW,
    anyCase: true,
    pattern: `(?:${BELOW.join('|')})[^\\r\\n]{0,120}:[ \\t]{0,4}\\r?\\n(?:[ \\t]{0,8}\\r?\\n)?(?:[ \\t]{0,8}\\r?\\n)?[ \\t]{0,8}([^\\s"'\`<>]{8,256})(?=\\r?\\n|$)`,
    group: 1,
    accept: secretWord,
    maxLength: 640,
  },
];
