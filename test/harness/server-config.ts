import { HarnessError } from './errors.ts';

/**
 * Edits a vpn_server.config (written by the server itself on SIGTERM) so that it never tries to
 * reach the internet: Dynamic DNS off and NAT traversal off. vpncmd has no command for either, so
 * this is a text edit on the server's own file, done while the server is stopped.
 *
 * The file is "declare NAME { ... }" blocks with "type name value" lines, CRLF line ends and a BOM;
 * we change only the two values in place and keep everything else byte for byte.
 */
export function disableInternetFeatures(config: string): string {
  const ddns = findBlock(config, 'DDnsClient');
  const ddnsBody = config.slice(ddns.start, ddns.end);
  const ddnsEdited = setBool(ddnsBody, 'Disabled', true, 'DDnsClient');
  let out = config.slice(0, ddns.start) + ddnsEdited + config.slice(ddns.end);

  const server = findBlock(out, 'ServerConfiguration');
  const serverBody = out.slice(server.start, server.end);
  const serverEdited = setBool(serverBody, 'DisableNatTraversal', true, 'ServerConfiguration');
  out = out.slice(0, server.start) + serverEdited + out.slice(server.end);
  return out;
}

/** Reads `bool NAME` directly inside `declare BLOCK` (undefined when absent). */
export function readBool(config: string, block: string, name: string): boolean | undefined {
  const b = findBlock(config, block);
  const m = boolLine(name).exec(directLines(config.slice(b.start, b.end)));
  return m ? m[2] === 'true' : undefined;
}

function boolLine(name: string): RegExp {
  return new RegExp(`^(\\s*bool ${name} )(true|false)(\\r?)$`, 'm');
}

/** Only the lines at depth 1 of a block body, so a nested block's same-named value is not hit. */
function directLines(body: string): string {
  let depth = 0;
  const kept: string[] = [];
  for (const line of body.split('\n')) {
    const t = line.trim();
    if (t === '{') depth++;
    else if (t === '}') depth--;
    else if (depth === 1) kept.push(line);
  }
  return kept.join('\n');
}

function setBool(body: string, name: string, value: boolean, where: string): string {
  // Walk lines tracking depth so only the block's own value changes.
  let depth = 0;
  let done = false;
  const re = boolLine(name);
  const lines = body.split('\n').map((line) => {
    const t = line.trim();
    if (t === '{') depth++;
    else if (t === '}') depth--;
    else if (depth === 1 && !done && re.test(line)) {
      done = true;
      return line.replace(re, `$1${value}$3`);
    }
    return line;
  });
  if (!done) throw new HarnessError(`vpn_server.config: no "bool ${name}" in ${where}`);
  return lines.join('\n');
}

/** Span of `declare NAME` through its matching closing brace. */
function findBlock(config: string, name: string): { start: number; end: number } {
  const m = new RegExp(`^[\\t ]*declare ${name}\\r?$`, 'm').exec(config);
  if (!m) throw new HarnessError(`vpn_server.config: no "declare ${name}" block`);
  let depth = 0;
  let pos = m.index + m[0].length;
  let opened = false;
  while (pos < config.length) {
    const nl = config.indexOf('\n', pos);
    const lineEnd = nl === -1 ? config.length : nl + 1;
    const t = config.slice(pos, lineEnd).trim();
    if (t === '{') {
      depth++;
      opened = true;
    } else if (t === '}') {
      depth--;
      if (opened && depth === 0) return { start: m.index, end: lineEnd };
    } else if (!opened && t !== '') {
      break;
    }
    pos = lineEnd;
  }
  throw new HarnessError(`vpn_server.config: "declare ${name}" block is not closed`);
}
