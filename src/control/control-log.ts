/**
 * The logging surface the control plane needs: pino's `(fields, message)` calls. The daemon passes a pino
 * logger; tests pass `memoryLog()` and read what was said. `fields.object` names what a line is about
 * (`cascade/NAME`, `bridge/DEVICE`, `api`, `config`) so the UI can filter by it.
 */
export interface ControlLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MemoryLogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: object;
  message: string;
}

/** A bounded in-memory log for tests. */
export function memoryLog(max = 1000): ControlLog & { lines: MemoryLogLine[] } {
  const lines: MemoryLogLine[] = [];
  const add = (level: MemoryLogLine['level']) => (fields: object, message: string) => {
    if (lines.length >= max) lines.shift();
    lines.push({ level, fields, message });
  };
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}
