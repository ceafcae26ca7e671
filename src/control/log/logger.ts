/**
 * The daemon's logger: pino, with one destination (the sink dispatcher below) that fans every line out to
 *  - the in-memory ring the UI queries (always),
 *  - a size-bounded rotated file on a RAM disk (optional),
 *  - remote syslog over UDP, RFC 5424 (optional, changeable at runtime),
 * after redaction (pino redact + a deep scrub, see redact.ts). Every sink is asynchronous and bounded; the
 * dispatcher itself does one JSON.parse per line (log volume is low; the data path does not log per frame).
 *
 * Convention: objects log through `logger.child({ object: 'cascade/hq' })`; the ring filters on `object`.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import { CENSOR, pinoRedactPaths, scrubSecrets } from './redact.ts';
import { LEVELS, levelName, LogRing } from './ring.ts';
import type { LevelName } from './ring.ts';
import { RotatingFileWriter } from './rotating-file.ts';
import type { RotatingFileOptions, RotatingFileStats } from './rotating-file.ts';
import { SyslogSender } from './syslog.ts';
import type { SyslogStats, SyslogTarget } from './syslog.ts';

export interface CreateLoggerOptions {
  level?: LevelName;
  /** Entries kept in memory (default 2000). */
  ringSize?: number;
  /** Largest line kept whole in the ring; longer ones keep a cut message and no fields (default 8 KiB). */
  maxEntryBytes?: number;
  file?: RotatingFileOptions | null;
  syslog?: SyslogTarget | null;
  appName?: string;
  /** Also write each line here (e.g. process.stdout for `sebridge link` in the foreground). */
  extraStream?: { write(line: string): unknown } | null;
}

export interface LogSystem {
  logger: Logger;
  ring: LogRing;
  setLevel(level: LevelName): void;
  /** null switches remote syslog off. Throws naming the field on a bad target (nothing changed). */
  setSyslog(target: SyslogTarget | null): Promise<void>;
  stats(): { ring: { size: number; lastSeq: number }; file: RotatingFileStats | null; syslog: SyslogStats };
  /** Flush the file and close file and socket. */
  close(): Promise<void>;
}

export function createLogger(o: CreateLoggerOptions = {}): LogSystem {
  const ring = new LogRing(o.ringSize ?? 2000);
  const maxEntryBytes = o.maxEntryBytes ?? 8192;
  const file = o.file ? new RotatingFileWriter(o.file) : null;
  const syslog = new SyslogSender({ appName: o.appName ?? 'sebridge' });
  const extra = o.extraStream ?? null;

  const destination = {
    write(line: string): void {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // pino always writes JSON; anything else is not ours to forward
      }
      // The deep scrub: secrets deeper than pino's redact paths, or in other letter cases.
      if (scrubSecrets(parsed)) line = `${JSON.stringify(parsed)}\n`;
      const { level, time, msg, object, ...fields } = parsed as {
        level: number; time: number; msg?: unknown; object?: unknown; [k: string]: unknown;
      };
      const text = typeof msg === 'string' ? msg : msg === undefined ? '' : JSON.stringify(msg);
      const objectName = typeof object === 'string' ? object : null;
      if (Buffer.byteLength(line) <= maxEntryBytes) {
        ring.push({ time, level, levelName: levelName(level), msg: text, object: objectName, fields });
      } else {
        ring.push({ time, level, levelName: levelName(level), msg: text.slice(0, 1024), object: objectName, fields: {}, truncated: true });
      }
      file?.write(line);
      syslog.send({ time, level, msg: text, fields, msgId: objectName });
      extra?.write(line);
    },
  };

  const logger = pino(
    {
      level: o.level ?? 'info',
      base: undefined, // no pid/hostname in every line: one process, one host
      redact: { paths: pinoRedactPaths(), censor: CENSOR },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    destination,
  );

  const ready = o.syslog ? syslog.setTarget(o.syslog) : Promise.resolve();
  ready.catch((e: Error) => logger.error({ err: e }, `syslog target not usable: ${e.message}`));

  return {
    logger,
    ring,
    setLevel(level) {
      if (!(level in LEVELS)) throw new Error(`log.level: one of ${Object.keys(LEVELS).join(', ')}`);
      logger.level = level;
    },
    setSyslog: (t) => syslog.setTarget(t),
    stats: () => ({ ring: { size: ring.size, lastSeq: ring.lastSeq }, file: file?.stats() ?? null, syslog: syslog.stats() }),
    async close() {
      syslog.close();
      await file?.close();
    },
  };
}
