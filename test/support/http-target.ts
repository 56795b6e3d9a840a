/**
 * An HTTP(S) server to be probed, in a child process: on loopback, or inside
 * a namespace host (`ip netns exec <ns> node …`, see ./netns.ts), so "the
 * server is in the namespace". Its behaviour is switched at run time over
 * stdin, one command a line, each acknowledged on stdout:
 *
 * | command        | what every request gets                                        |
 * |----------------|----------------------------------------------------------------|
 * | ok             | 200, body "status: ok" (the default)                           |
 * | status:NNN     | status NNN, body "status: ok"                                  |
 * | body           | 200, body "status: degraded"                                   |
 * | redirect       | 302 to /elsewhere                                              |
 * | hang           | nothing: the request is read and never answered                |
 * | garbage        | bytes that are not HTTP, then the connection closes            |
 * | huge-headers   | 200 with a 64 KiB header                                       |
 * | endless        | 200, a body that never ends (16 KiB chunks, no match)          |
 * | cert:<id>      | (https) serve <dir>/<id>.crt and <id>.key from now on          |
 * | count          | answers `count <connections so far>`                           |
 * | open           | answers `open <connections open now>`                          |
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const SCRIPT = String.raw`
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const [host, port, scheme, dir, certId] = process.argv.slice(1);
let mode = 'ok';
let connections = 0;
const sockets = new Set();
const tlsOpts = (id) => ({ cert: fs.readFileSync(path.join(dir, id + '.crt')), key: fs.readFileSync(path.join(dir, id + '.key')) });
const handler = (req, res) => {
  req.on('error', () => {});
  res.on('error', () => {});
  if (mode === 'hang') return;
  if (mode === 'garbage') { res.socket.end('\x00\x01garbage that is not HTTP\r\n\r\n'); return; }
  if (mode === 'redirect') { res.writeHead(302, { Location: '/elsewhere' }); res.end('moved'); return; }
  if (mode === 'body') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('status: degraded'); return; }
  if (mode === 'huge-headers') { res.writeHead(200, { 'X-Big': 'a'.repeat(65536) }); res.end('status: ok'); return; }
  if (mode === 'endless') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    const chunk = Buffer.alloc(16384, 0x2e);
    const more = () => { while (!res.destroyed && res.write(chunk)); if (!res.destroyed) res.once('drain', more); };
    more();
    return;
  }
  const m = /^status:(\d+)$/.exec(mode);
  res.writeHead(m ? Number(m[1]) : 200, { 'Content-Type': 'text/plain' });
  res.end('status: ok');
};
const server = scheme === 'https' ? https.createServer(tlsOpts(certId), handler) : http.createServer(handler);
server.keepAliveTimeout = 60000;
server.on('connection', (s) => { connections += 1; sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); });
server.on('tlsClientError', () => {});
server.on('clientError', (err, s) => s.destroy());
server.listen({ host, port: Number(port) }, () => process.stdout.write('listening ' + server.address().port + '\n'));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'count') { process.stdout.write('count ' + connections + '\n'); return; }
  if (cmd === 'open') { process.stdout.write('open ' + sockets.size + '\n'); return; }
  if (cmd.startsWith('cert:')) server.setSecureContext(tlsOpts(cmd.slice(5)));
  else mode = cmd;
  // A new behaviour applies to new connections and to connections in flight alike: drop the old ones.
  for (const s of sockets) s.destroy();
  process.stdout.write('done ' + cmd + '\n');
});
process.stdin.on('end', () => { for (const s of sockets) s.destroy(); server.close(); process.exit(0); });
`;

export interface HttpTargetOptions {
  readonly host: string;
  /** 0: any free port (read back as `port`). */
  readonly port: number;
  readonly scheme: 'http' | 'https';
  /** https: the folder of the `<id>.crt`/`<id>.key` files, and the id to start with. */
  readonly certDir?: string;
  readonly certId?: string;
  /** Run inside this network namespace. */
  readonly netns?: string;
}

export interface HttpTarget {
  readonly port: number;
  /** Switches the behaviour (see the table above); resolves once the server applied it. */
  set(command: string): Promise<void>;
  /** TCP connections accepted so far. */
  connections(): Promise<number>;
  /** TCP connections open now. */
  open(): Promise<number>;
  close(): Promise<void>;
}

export async function startHttpTarget(opts: HttpTargetOptions): Promise<HttpTarget> {
  const args = [process.execPath, '-e', SCRIPT, opts.host, String(opts.port), opts.scheme, opts.certDir ?? '', opts.certId ?? ''];
  const [cmd, ...rest] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...args] : args;
  const child: ChildProcess = spawn(cmd!, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let buffered = '';
  const waiters: Array<{ prefix: string; resolve: (line: string) => void }> = [];
  const seen: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const i = waiters.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) waiters.splice(i, 1)[0]!.resolve(line);
      else seen.push(line);
    }
  });
  const exited = once(child, 'exit');
  const next = (prefix: string, what: string): Promise<string> => {
    const early = seen.findIndex((l) => l.startsWith(prefix));
    if (early >= 0) return Promise.resolve(seen.splice(early, 1)[0]!);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`http target ${opts.host}: no "${what}" within 10 s; stderr: ${stderr}`)), 10_000);
      waiters.push({
        prefix,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`http target ${opts.host} exited; stderr: ${stderr}`));
      });
    });
  };
  let port: number;
  try {
    port = Number((await next('listening ', 'listening')).split(' ')[1]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  let closed = false;
  return {
    port,
    async set(command) {
      child.stdin!.write(`${command}\n`);
      await next(`done ${command}`, `done ${command}`);
    },
    async connections() {
      child.stdin!.write('count\n');
      return Number((await next('count ', 'count')).split(' ')[1]);
    },
    async open() {
      child.stdin!.write('open\n');
      return Number((await next('open ', 'open')).split(' ')[1]);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.stdin!.end();
      await exited;
      clearTimeout(timer);
    },
  };
}
