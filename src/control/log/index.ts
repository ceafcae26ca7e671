export * from './redact.ts';
export * from './ring.ts';
export * from './rotating-file.ts';
export * from './syslog.ts';
export * from './logger.ts';
