export * from './warnable.ts';
export * from './tracker.ts';
export * from './warnings.ts';
export * from './checks.ts';
export * from './webhook.ts';
export * from './monitor.ts';
export * from './resource-history.ts';
