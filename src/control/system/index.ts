export * from './nics.ts';
export * from './temperature.ts';
export * from './system-info.ts';
export * from './config-writable.ts';
export * from './cpu-load.ts';
