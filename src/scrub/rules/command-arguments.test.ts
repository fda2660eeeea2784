/**
 * Passwords a command takes as an argument, and the ones a client sends in a protocol's own
 * words, as shell history, `ps`, CI logs and `curl -v` transcripts show them. Each went out bare
 * on 7b0bcf2.
 */
import { describe, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  secret,
} from '../../../test/helpers/scrub-cases.js';

describe('a password given to a short flag', () => {
  const v = secret(20, 51);
  expectRedacted({
    "sqlcmd's -P": [`sqlcmd -S db -U sa -P ${v} -Q "select 1"`, v],
    "mongosh's -p": [`mongosh -u admin -p ${v} --authenticationDatabase admin`, v],
    "psexec's -p": [`psexec \\\\host -u admin -p ${v} cmd`, v],
    "zip's -P": [`zip -P ${v} out.zip f`, v],
    "7z's -p, joined": [`7z a -p${v} out.7z f`, v],
    "openssl enc's -k": [`openssl enc -aes-256-cbc -k ${v} -in f`, v],
    "keytool's -storepass": [`keytool -genkey -storepass ${v} -alias x`, v],
    "keytool's -keypass after its -storepass": [
      `keytool -genkey -storepass ${secret(20, 55)} -keypass ${v}`,
      v,
    ],
    "PowerShell's -Password": [`New-LocalUser -Name svc -Password ${v}`, v],
    "az login's -p": [`az login --service-principal -u app-id -p ${v} --tenant contoso`, v],
    "doctl auth init's -t": [`doctl auth init -t ${v}`, v],
  });
  expectLeftAlone({
    "mongosh's -p with no value (it prompts)": 'mongosh -u admin -p --authenticationDatabase admin',
    "zip's -r": 'zip -r release-2024-11.zip dist/',
    'a port flag': 'sqlcmd -S db,1433 -U sa -Q "select 1"',
    "7z's -o": '7z x -o/tmp/extracted-files archive.7z',
    "keytool's -storepass:env (a variable's name)": 'keytool -list -storepass:env STOREPASS_VARIABLE -v',
  });
});

describe('a password as a positional argument', () => {
  const v = secret(20, 52);
  expectRedacted({
    'htpasswd -b': [`htpasswd -b -c .htpasswd alice ${v}`, v],
    'net user': [`net user alice ${v} /add`, v],
    'rabbitmqctl add_user': [`rabbitmqctl add_user alice ${v}`, v],
    'rabbitmqctl change_password': [`rabbitmqctl change_password alice '${v}'`, v],
    "smbclient's -U user%password": [`smbclient //srv/share -U alice%${v}`, v],
    'ConvertTo-SecureString': [`$pw = ConvertTo-SecureString "${v}" -AsPlainText -Force`, v],
    'aws configure set': [`aws configure set aws_secret_access_key ${v}`, v],
    'netlify env:set': [`netlify env:set AUTH_SECRET ${v}`, v],
  });
  expectLeftAlone({
    'htpasswd without -b': 'htpasswd -c .htpasswd alice',
    'net user listing': 'net user alice /domain',
    'rabbitmqctl list_users': 'rabbitmqctl list_users --formatter json',
    'ConvertTo-SecureString of a variable': 'ConvertTo-SecureString $plain -AsPlainText -Force',
    'aws configure set of a region': 'aws configure set region eu-west-1',
  });
});

describe('a password piped into a command that reads it from stdin', () => {
  const v = secret(20, 56);
  expectRedacted({
    "chpasswd's user:password": [`echo 'alice:${v}' | chpasswd`, v],
    'chpasswd under sudo, from printf': [`printf '%s\\n' "alice:${v}" | sudo chpasswd`, v],
    'passwd --stdin': [`echo ${v} | passwd --stdin alice`, v],
    "smbpasswd's -s": [`echo -e "${v}" | smbpasswd -s -a alice`, v],
    'docker login --password-stdin': [
      `echo "${v}" | docker login -u alice --password-stdin registry.example.com`,
      v,
    ],
    'helm registry login --password-stdin': [
      `echo ${v} | helm registry login ghcr.io -u bot --password-stdin`,
      v,
    ],
    "vault login's token": [`vault login ${v}`, v],
    'echo into wrangler secret put': [`echo ${v} | npx wrangler secret put API_KEY`, v],
    "wrangler's here-string": [`wrangler secret put API_KEY <<< "${v}"`, v],
    "chpasswd's here-string": [`chpasswd <<< 'alice:${v}'`, v],
    'a here-string to --password-stdin': [`docker login -u bot --password-stdin <<< ${v}`, v],
  });
  expectLeftAlone({
    'a variable piped to docker login': 'echo $REGISTRY_PASSWORD | docker login --password-stdin',
    'a word piped to another command': 'echo hello-world-123 | grep world',
    'an echo with no pipe': 'echo Deploying-release-2024 to production',
    "vault login's method": 'vault login -method=userpass username=alice',
    'a here-string of a variable': 'docker login -u bot --password-stdin <<< "$REGISTRY_TOKEN"',
    'a here-string to another command': 'grep -c error <<< "Deploy-2024-release-notes"',
    'a merge conflict marker': '<<<<<<< HEAD\nconst a = 1;\n',
  });
});

describe("a client's login in a protocol transcript", () => {
  const v = secret(20, 53);
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  expectRedacted({
    "FTP's PASS (curl -v)": [`> USER alice\r\n< 331 Password required\r\n> PASS ${v}\r\n`, v],
    "POP3's PASS": [`C: USER alice\nS: +OK\nC: PASS ${v}\n`, v],
    "IMAP's LOGIN": [`a001 LOGIN alice ${v}\n`, v],
    "IMAP's LOGIN, quoted": [`C: a1 LOGIN "alice" "${v}"\n`, v],
    "Redis' AUTH": [`127.0.0.1:6379> AUTH ${v}\nOK\n`, v],
    "Redis' AUTH with a user": [`AUTH default ${v}\n`, v],
    "SMTP's AUTH PLAIN": [`C: AUTH PLAIN ${b64(`\0alice\0${v}`)}\n`, b64(`\0alice\0${v}`)],
    "SMTP's AUTH LOGIN, the password's line": [
      `C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: YWxpY2U=\nS: 334 UGFzc3dvcmQ6\nC: ${b64(v)}\n`,
      b64(v),
    ],
  });
  expectLeftAlone({
    "jest's PASS line": ' PASS  src/app.test.ts (2.1 s)\n',
    'a test summary': 'Tests: 12 PASS, 0 FAIL\n',
    "SMTP's AUTH LOGIN command": 'C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\n',
    'prose about logins': 'Users LOGIN with their company account every morning.\n',
  });
});

describe('in a stream', () => {
  const v = secret(24, 54);
  const texts: Record<string, string> = {
    'an FTP session': `> USER alice\r\n< 331 Password required\r\n> PASS ${v}\r\n< 230 Logged in\r\n`,
    'a redis-cli session': `127.0.0.1:6379> AUTH default ${v}\nOK\n`,
    'an htpasswd command': `$ htpasswd -b -c .htpasswd alice ${v}\nAdding password for user alice\n`,
    'a chpasswd pipe': `+ echo 'alice:${v}' | chpasswd\n+ echo done\n`,
  };
  for (const [name, text] of Object.entries(texts)) {
    it(`redacts ${name} cut at every position and in small chunks`, () =>
      expectNoTailInStreams(text, v.slice(-8)));
  }
});
