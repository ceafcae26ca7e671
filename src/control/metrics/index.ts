export * from './rate-ring.ts';
export * from './traffic-history.ts';
export * from './loop-delay.ts';
