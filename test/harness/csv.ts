import { HarnessError } from './errors.ts';

/**
 * Parses the CSV that `vpncmd /CSV` prints (RFC 4180 style: commas, double-quoted fields with ""
 * escapes, CRLF or LF line ends). Blank lines are skipped. An unterminated quote is an error rather
 * than a silently merged row, because a wrong parse would make a test assert on the wrong cell.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let fieldStarted = false;
  const endRow = (): void => {
    row.push(field);
    if (!(row.length === 1 && row[0] === '' && !fieldStarted)) rows.push(row);
    row = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      inQuotes = true;
      fieldStarted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (inQuotes) throw new HarnessError('CSV ends inside a quoted field', text.slice(-200));
  if (field !== '' || row.length > 0 || fieldStarted) endRow();
  return rows;
}

/** Rows of a table whose first row is the header, as objects keyed by header text. */
export function csvRecords(rows: string[][]): Array<Record<string, string>> {
  if (rows.length === 0) return [];
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h.trim(), r[i] ?? ''])));
}

/**
 * The two-column "Item,Value" tables (SessionGet, DhcpGet, ...) as one record. Item names are
 * trimmed because vpncmd pads some of them (e.g. "Lease Limit (Seconds) ").
 */
export function csvItems(rows: string[][]): Record<string, string> {
  const body = rows.length > 0 && rows[0][0] === 'Item' ? rows.slice(1) : rows;
  const out: Record<string, string> = {};
  for (const r of body) {
    const key = (r[0] ?? '').trim();
    if (key !== '' && !(key in out)) out[key] = r.slice(1).join(',');
  }
  return out;
}
