import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { CallOutcome, Expectation } from './calls.ts';
import { compareShapes, formatShapeDiff, type Shape } from './shape.ts';

/**
 * expected-shapes.json: what the stock vpnbridge answered to each conformance call, recorded by record.ts. Our own
 * measurement; the conformance tests of every target compare against it.
 */
export const EXPECTED_PATH = fileURLToPath(new URL('./expected-shapes.json', import.meta.url));

export interface RecordedCall {
  method: string;
  expect: Expectation;
  /** the JSON-RPC error message, for error answers */
  message?: string;
  /** the result's shape, for result answers */
  shape?: Shape;
}

export interface ExpectedFile {
  /** what was measured: product name and build from GetServerInfo, and when */
  recordedFrom: { product: string; build: number; at: string };
  calls: Record<string, RecordedCall>;
}

/** Builds the file content from a run whose outcomes all met their declared expectations. */
export function recordOutcomes(outcomes: readonly CallOutcome[], recordedFrom: ExpectedFile['recordedFrom']): ExpectedFile {
  const calls: Record<string, RecordedCall> = {};
  for (const { call, observation: o, problems } of outcomes) {
    if (problems.length > 0) throw new Error(`not recording: ${call.id} has problems:\n  ${problems.join('\n  ')}`);
    const entry: RecordedCall = { method: call.method, expect: call.expect };
    if (o.kind === 'error') entry.message = o.message;
    if (o.kind === 'result') entry.shape = o.shape;
    calls[call.id] = entry;
  }
  return { recordedFrom, calls };
}

export async function readExpected(path = EXPECTED_PATH): Promise<ExpectedFile> {
  const data = JSON.parse(await readFile(path, 'utf8')) as ExpectedFile;
  if (!data || typeof data !== 'object' || typeof data.calls !== 'object' || !data.recordedFrom) throw new Error(`${path}: not an expected-shapes file`);
  return data;
}

/**
 * Problems of one outcome against what the stock bridge answered: the same kind of answer, the same error code and
 * message, the same result shape. (The declared expectation and value checks are in outcome.problems.)
 */
export function compareWithRecorded(outcome: CallOutcome, recorded: RecordedCall | undefined): string[] {
  const { call, observation: o } = outcome;
  if (!recorded) return [`${call.id}: nothing recorded for this call (run test/conformance/record.ts)`];
  const p: string[] = [];
  if (recorded.method !== call.method) p.push(`recorded for method ${recorded.method}, the call now uses ${call.method}`);
  if (o.kind !== recorded.expect.kind) {
    p.push(`stock answered ${recorded.expect.kind}, this target ${o.kind}`);
    return p;
  }
  if (o.kind === 'error' && recorded.expect.kind === 'error') {
    if (o.code !== recorded.expect.code) p.push(`error code ${o.code}, stock ${recorded.expect.code}`);
    // The stock text must come first, word for word (scripts match on it); a reimplementation may add what exactly
    // was wrong after it (sebridge names the refused field).
    if (recorded.message !== undefined && !o.message.startsWith(recorded.message.trimEnd())) p.push(`error message ${JSON.stringify(o.message)}, stock ${JSON.stringify(recorded.message)}`);
  }
  if (o.kind === 'http' && recorded.expect.kind === 'http' && o.status !== recorded.expect.status) p.push(`HTTP ${o.status}, stock ${recorded.expect.status}`);
  if (o.kind === 'result') {
    if (!recorded.shape) p.push('no shape recorded');
    else {
      const text = formatShapeDiff(compareShapes(recorded.shape, o.shape));
      if (text) p.push(`shape differs from stock: ${text}`);
    }
  }
  return p;
}
