// Runs INSIDE the jail, as plain JavaScript on the jail's node. Inside, only
// loopback exists: this bridge listens on 127.0.0.1 ports and forwards each
// connection to a Unix socket that bulkhead bind-mounted in (the gateway, the
// egress proxy). Then it runs the agent command and exits with its code.
// argv: <bridges JSON: [{port, socket}]> -- command args...
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

const [, , spec, separator, ...command] = process.argv;
if (separator !== '--' || command.length === 0) {
  process.stderr.write('bulkhead bridge: usage: bridge.mjs SPEC -- COMMAND...\n');
  process.exit(2);
}
const servers = JSON.parse(spec).map(
  ({ port, socket }) =>
    new Promise((resolve, reject) => {
      const server = createServer((client) => {
        const upstream = connect(socket);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    }),
);
await Promise.all(servers);
const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
child.on('error', (error) => {
  process.stderr.write(`bulkhead: cannot start ${command[0]}: ${error.message}\n`);
  process.exit(127);
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
