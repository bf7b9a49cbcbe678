// A real, private redis-server on a free port, which a test can stop and start again to see
// how the service behaves while Redis is down and whether it recovers.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from './free-port.js';

async function waitForPort(port: number, up: boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const open = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1').once('connect', () => { c.destroy(); r(true); }).once('error', () => r(false));
    });
    if (open === up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis on port ${port} did not ${up ? 'start' : 'stop'}`);
}

export interface PrivateRedis { url: string; start(): Promise<void>; stop(): Promise<void> }

export async function privateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let proc: ChildProcess | null = null;
  const r: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitForPort(port, true);
    },
    async stop() {
      if (!proc) return;
      const exited = new Promise((res) => proc!.once('exit', res));
      proc.kill('SIGKILL');
      await exited;
      proc = null;
      await waitForPort(port, false);
    },
  };
  await r.start();
  return r;
}
