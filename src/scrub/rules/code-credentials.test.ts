/** Secrets given by position, no name beside the value: each went out bare on 7a4e64c. */
import { describe, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  secret,
} from '../../../test/helpers/scrub-cases.js';

describe("the password in a call's user and password arguments", () => {
  const v = secret(20, 131);
  expectRedacted({
    "requests' auth tuple": [`r = requests.get(url, auth=("admin", "${v}"))`, v],
    "requests' auth tuple, spaced": [`session.auth = ('deploy', '${v}')`, v],
    HTTPBasicAuth: [`auth = HTTPBasicAuth('admin', '${v}')`, v],
    "aiohttp's BasicAuth": [`aiohttp.BasicAuth("bot", "${v}")`, v],
    "Go's SetBasicAuth": [`req.SetBasicAuth("admin", "${v}")`, v],
    "superagent's auth": [`request.get(url).auth('ci', '${v}')`, v],
    ".NET's NetworkCredential": [`new NetworkCredential("svc", "${v}")`, v],
    "Java's PasswordAuthentication": [`new PasswordAuthentication("svc", "${v}".toCharArray())`, v],
  });
  expectLeftAlone({
    'a password from a variable': 'requests.get(url, auth=(user, password))',
    'a login with a prompt': 'server.login(user, getpass.getpass())',
    'a placeholder password': 'HTTPBasicAuth("user", "changeme")',
    'a test of the word': 'client.login("alice", "password")',
  });
});

describe('a secret variable echoed in a shell transcript', () => {
  const v = secret(40, 132);
  expectRedacted({
    'echo $ANTHROPIC_API_KEY': [`$ echo $ANTHROPIC_API_KEY\n${v}\n$ `, v],
    'echo "${GITHUB_TOKEN}"': [`$ echo "\${GITHUB_TOKEN}"\n${v}\n`, v],
    'printenv DB_PASSWORD': [`root@box:~# printenv DB_PASSWORD\r\n${v}\r\n`, v],
  });
  expectLeftAlone({
    'an empty variable': '$ echo $API_KEY\n\n$ ls\nREADME.md\n',
    'a variable that is not a secret': '$ echo $HOME\n/home/alice\n',
    'an error on the next line': '$ echo $TOKEN\nbash: TOKEN: unbound variable\n',
  });
  it('redacts an echoed key cut at every position and in small chunks', () =>
    expectNoTailInStreams(`$ echo $OPENAI_API_KEY\n${v}\n$ exit\n`, v.slice(-10)));
});
