// pino, JSON lines on stdout; every line carries the correlation id of the request or job that
// produced it. Credentials are redacted wherever they appear in logged objects.
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { currentCorrelationId } from './correlation.js';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  pretty?: boolean;
  /** Where lines go; defaults to stdout. Tests pass a stream to read them back. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'gigintel' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', '*.password', '*.adminKey', '*.token', 'key'],
        censor: '***',
      },
    },
    opts.pretty ? prettyStream(opts.destination ?? process.stdout) : (opts.destination ?? process.stdout),
  );
}

// A dependency-free one-line formatter for people at a terminal: "12:00:01 INFO  message {…}".
function prettyStream(out: NodeJS.WritableStream): NodeJS.WritableStream {
  const names: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
  return {
    write(chunk: string) {
      try {
        const { level, time, msg, service: _s, ...rest } = JSON.parse(chunk) as Record<string, unknown>;
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        out.write(`${String(time).slice(11, 19)} ${names[level as number] ?? level} ${msg ?? ''}${extra}\n`);
      } catch {
        out.write(chunk);
      }
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}
