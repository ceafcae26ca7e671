export { Hub, HubError, HubErrorCode, ETHERNET_HEADER_SIZE } from './hub.ts';
export type { HubOptions } from './hub.ts';
export { MacTable, LearnResult } from './mac-table.ts';
export type { MacTableOptions } from './mac-table.ts';
export type { DropCounters, HubStats, MacTableRow, PortCounters, PortStats } from './stats.ts';
