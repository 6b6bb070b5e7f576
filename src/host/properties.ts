/**
 * Java `.properties` files as Kafka reads them (java.util.Properties.load): comment lines (`#`, `!`),
 * continuation lines (an odd number of trailing backslashes), key/value separated by the first
 * unescaped `=`, `:` or whitespace, and escapes (`\t \n \r \f \uXXXX`, `\x` → `x`).
 *
 * Besides the key/value map, the parser keeps where each logical line sits in the file, so a restore
 * can rewrite one key and leave every comment and every other line exactly as the operator wrote it.
 */

export interface PropertyEntry {
  key: string;
  value: string;
  /** 0-based index of the first and last physical line of this logical line. */
  firstLine: number;
  lastLine: number;
}

export interface ParsedProperties {
  /** Every assignment in file order (a key may appear more than once; the last one wins, as in Java). */
  entries: PropertyEntry[];
  /** The effective values (last assignment wins). */
  values: Map<string, string>;
  /** Keys assigned more than once: worth telling an operator about. */
  duplicates: string[];
  /** The physical lines, for rewriting. */
  lines: string[];
  /** The line terminator found in the file ("\n" unless the file uses "\r\n"). */
  eol: string;
}

const WHITESPACE = new Set([' ', '\t', '\f']);

/** True when the line ends with an odd number of backslashes (a continuation). */
function continues(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

function unescape(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = s[++i];
    if (next === undefined) break;
    if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 'f') out += '\f';
    else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16));
      i += 4;
    } else out += next;
  }
  return out;
}

/** Splits one logical line (continuations already joined, escapes still in place) into key and value. */
function splitKeyValue(logical: string): { key: string; value: string } {
  let i = 0;
  while (i < logical.length && WHITESPACE.has(logical[i]!)) i++;
  const keyStart = i;
  while (i < logical.length) {
    const c = logical[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '=' || c === ':' || WHITESPACE.has(c)) break;
    i++;
  }
  const rawKey = logical.slice(keyStart, Math.min(i, logical.length));
  while (i < logical.length && WHITESPACE.has(logical[i]!)) i++;
  if (logical[i] === '=' || logical[i] === ':') i++;
  while (i < logical.length && WHITESPACE.has(logical[i]!)) i++;
  return { key: unescape(rawKey), value: unescape(logical.slice(i)) };
}

export function parseProperties(text: string): ParsedProperties {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r\n|\n|\r/);
  const entries: PropertyEntry[] = [];
  for (let n = 0; n < lines.length; n++) {
    const first = lines[n]!;
    const trimmed = first.replace(/^[ \t\f]+/, '');
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) continue;
    let logical = trimmed;
    const firstLine = n;
    // A continuation drops the backslash and the next line's leading whitespace.
    while (continues(logical) && n + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++n]!.replace(/^[ \t\f]+/, '');
    }
    if (continues(logical)) logical = logical.slice(0, -1);
    entries.push({ ...splitKeyValue(logical), firstLine, lastLine: n });
  }
  const values = new Map<string, string>();
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.key)) duplicates.add(e.key);
    seen.add(e.key);
    values.set(e.key, e.value);
  }
  return { entries, values, duplicates: [...duplicates], lines, eol };
}

function escapeChars(s: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (c === '\\') out += '\\\\';
    else if (c === '\t') out += '\\t';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\f') out += '\\f';
    else if (c === ' ' && (isKey || i === 0)) out += '\\ ';
    else if (isKey && (c === '=' || c === ':' || c === '#' || c === '!')) out += `\\${c}`;
    // Kafka loads properties as ISO-8859-1: anything outside printable ASCII goes as \uXXXX.
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out;
}

export const formatProperty = (key: string, value: string): string => `${escapeChars(key, true)}=${escapeChars(value, false)}`;

/**
 * Returns the file text with the given keys set (`undefined` removes the key). An existing key keeps
 * its place (its last assignment is replaced, earlier duplicates are dropped); new keys are appended.
 */
export function setProperties(text: string, changes: Record<string, string | undefined>): string {
  const parsed = parseProperties(text);
  const lines: (string | null)[] = [...parsed.lines];
  const pending = new Map(Object.entries(changes));
  const lastByKey = new Map<string, PropertyEntry>();
  for (const e of parsed.entries) lastByKey.set(e.key, e);
  for (const e of parsed.entries) {
    if (!pending.has(e.key)) continue;
    const value = pending.get(e.key);
    const keep = lastByKey.get(e.key) === e && value !== undefined;
    for (let n = e.firstLine; n <= e.lastLine; n++) lines[n] = null;
    if (keep) lines[e.firstLine] = formatProperty(e.key, value);
  }
  for (const key of lastByKey.keys()) pending.delete(key);
  const kept = lines.filter((l): l is string => l !== null);
  const additions = [...pending].filter((kv): kv is [string, string] => kv[1] !== undefined).map(([k, v]) => formatProperty(k, v));
  if (additions.length) {
    // Keep the file's final newline where it was: append before the trailing empty line.
    const trailing = kept.length > 0 && kept[kept.length - 1] === '' ? kept.pop() : undefined;
    kept.push(...additions);
    if (trailing !== undefined) kept.push(trailing);
  }
  return kept.join(parsed.eol);
}
