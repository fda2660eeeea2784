// Runs INSIDE the jail, as plain JavaScript on the jail's own node (see bridge.ts).
// Inside, only loopback exists: this bridge listens on 127.0.0.1 ports and
// forwards each connection to a Unix socket that bulkhead bind-mounted in (the
// gateway, the egress proxy); where each socket leads is decided on the host.
// Then it runs the agent command and exits with its code.
// argv: <bridges JSON: [{port, socket}]> -- command args...
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { constants } from 'node:os';

const [, , spec, separator, ...command] = process.argv;
if (separator !== '--' || command.length === 0) {
  process.stderr.write('bulkhead bridge: usage: bridge.mjs SPEC -- COMMAND...\n');
  process.exit(2);
}
const listening = JSON.parse(spec).map(
  ({ port, socket }) =>
    new Promise((resolve, reject) => {
      // Half-open both ways: a client's half-close goes on as one (pipe ends the other side's
      // writing half) and the answer still comes back; each socket closes once both halves end.
      const server = createServer({ allowHalfOpen: true }, (client) => {
        const upstream = connect({ path: socket, allowHalfOpen: true });
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    }),
);
try {
  await Promise.all(listening);
} catch (error) {
  process.stderr.write(`bulkhead bridge: cannot listen: ${error.message}\n`);
  process.exit(125);
}
const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
child.on('error', (error) => {
  process.stderr.write(`bulkhead: cannot start ${command[0]}: ${error.message}\n`);
  process.exit(127);
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
