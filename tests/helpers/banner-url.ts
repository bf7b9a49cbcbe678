// Child-process servers in tests: the URL their start-up banner names, once it is printed.
import type { ChildProcess } from 'node:child_process';

/** Waits for the start-up banner and returns the URL it names. */
export function bannerUrl(child: ChildProcess, pattern: RegExp): Promise<string> {
  let out = '';
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner; stderr: ${stderr}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m && out.includes('Admin key')) { clearTimeout(timer); resolve(m[1]!); }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
}
