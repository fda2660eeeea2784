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
    accept: (value) => looksLikeSecretValue(value) && !PROSE_WORD.test(value),
  },
];
