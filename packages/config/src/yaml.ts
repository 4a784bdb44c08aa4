/**
 * A strict parser for the subset of YAML 1.2 that a config file needs: block mappings, block
 * sequences, flow sequences of scalars, plain / single-quoted / double-quoted scalars and comments.
 * Anything else (anchors, aliases, tags, block scalars, flow mappings, several documents) is
 * refused with the line number rather than guessed at. Written in-house because the `yaml` package
 * is not a dependency of this workspace; the config format stays valid YAML either way.
 */

/** A parsed YAML value. */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlSyntaxError extends Error {
  override readonly name = 'YamlSyntaxError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

/** Removes a trailing comment: `#` at the start or after whitespace, outside quotes. */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== null) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      if (i === 0 || /[\s[,:-]/.test(text[i - 1] ?? '')) quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      return text.slice(0, i);
    }
  }
  return text;
}

function splitLines(source: string): Line[] {
  const lines: Line[] = [];
  const raw = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  let seenContent = false;
  for (const [i, full] of raw.entries()) {
    const no = i + 1;
    const indentMatch = /^[ \t]*/.exec(full)?.[0] ?? '';
    const body = stripComment(full).trimEnd();
    if (body.trim() === '') continue;
    if (indentMatch.includes('\t')) throw new YamlSyntaxError(no, 'tabs are not allowed for indentation');
    if (body === '---' && !seenContent) continue;
    if (body === '---' || body === '...') throw new YamlSyntaxError(no, 'only one YAML document is allowed');
    if (/^%/.test(body)) throw new YamlSyntaxError(no, 'YAML directives are not supported');
    seenContent = true;
    lines.push({ no, indent: indentMatch.length, text: body.slice(indentMatch.length) });
  }
  return lines;
}

function parseDoubleQuoted(s: string, no: number): string {
  try {
    const value: unknown = JSON.parse(s);
    if (typeof value === 'string') return value;
  } catch {
    // fall through
  }
  throw new YamlSyntaxError(no, `bad double-quoted string ${s}`);
}

/** Parses one scalar (already trimmed). */
export function parseScalar(s: string, no: number): YamlValue {
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new YamlSyntaxError(no, `unterminated string ${s}`);
    return parseDoubleQuoted(s, no);
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new YamlSyntaxError(no, `unterminated string ${s}`);
    const inner = s.slice(1, -1);
    if (/(^|[^'])'([^']|$)/.test(inner.replace(/''/g, ''))) throw new YamlSyntaxError(no, `bad string ${s}`);
    return inner.replace(/''/g, "'");
  }
  if (/^[&*!|>{@`]/.test(s)) {
    throw new YamlSyntaxError(no, `unsupported YAML syntax ${JSON.stringify(s)} (quote the value)`);
  }
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number.parseInt(s, 10);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number.parseFloat(s);
  if (s.includes(': ') || s.endsWith(':')) throw new YamlSyntaxError(no, `unexpected mapping in ${s}`);
  return s;
}

function parseFlowSequence(s: string, no: number): YamlValue[] {
  if (!s.endsWith(']')) throw new YamlSyntaxError(no, 'unterminated flow sequence');
  const inner = s.slice(1, -1).trim();
  if (inner === '') return [];
  const items: YamlValue[] = [];
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i <= inner.length; i++) {
    const ch = inner[i];
    if (quote !== null) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '[' || ch === '{') {
      throw new YamlSyntaxError(no, 'nested flow collections are not supported');
    } else if (ch === ',' || i === inner.length) {
      const item = inner.slice(start, i).trim();
      if (item === '' && i === inner.length && items.length > 0) break; // trailing comma
      items.push(parseScalar(item, no));
      start = i + 1;
    }
  }
  return items;
}

/** A value written on the same line as its key or dash. */
function parseInline(s: string, no: number): YamlValue {
  if (s.startsWith('[')) return parseFlowSequence(s, no);
  return parseScalar(s, no);
}

const KEY_RE = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"[\]{},:][^:#]*?)\s*:(?:\s+(.*))?$/;

class Parser {
  private pos = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlValue {
    if (this.lines.length === 0) return null;
    const first = this.lines[0] as Line;
    const value = this.parseBlock(first.indent);
    const rest = this.lines[this.pos];
    if (rest !== undefined) throw new YamlSyntaxError(rest.no, 'unexpected indentation');
    return value;
  }

  private parseBlock(indent: number): YamlValue {
    const line = this.lines[this.pos] as Line;
    if (line.text === '-' || line.text.startsWith('- ')) return this.parseSequence(indent);
    if (KEY_RE.test(line.text)) return this.parseMapping(indent);
    this.pos++;
    return parseInline(line.text, line.no);
  }

  private parseSequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (let line = this.lines[this.pos]; line !== undefined; line = this.lines[this.pos]) {
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlSyntaxError(line.no, 'unexpected indentation');
      if (!(line.text === '-' || line.text.startsWith('- '))) break;
      const rest = line.text.slice(1).trim();
      this.pos++;
      if (rest === '') {
        const next = this.lines[this.pos];
        if (next !== undefined && next.indent > indent) out.push(this.parseBlock(next.indent));
        else out.push(null);
      } else if (KEY_RE.test(rest) && !rest.startsWith('[')) {
        throw new YamlSyntaxError(line.no, 'mappings inside sequences are not supported');
      } else {
        out.push(parseInline(rest, line.no));
      }
    }
    return out;
  }

  private parseMapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (let line = this.lines[this.pos]; line !== undefined; line = this.lines[this.pos]) {
      if (line.indent < indent) break;
      if (line.indent > indent) throw new YamlSyntaxError(line.no, 'unexpected indentation');
      const m = KEY_RE.exec(line.text);
      if (m === null)
        throw new YamlSyntaxError(line.no, `expected "key: value", got ${JSON.stringify(line.text)}`);
      const rawKey = (m[1] ?? '').trim();
      const keyValue =
        rawKey.startsWith('"') || rawKey.startsWith("'") ? parseScalar(rawKey, line.no) : rawKey;
      const key = String(keyValue);
      if (Object.hasOwn(out, key)) throw new YamlSyntaxError(line.no, `duplicate key "${key}"`);
      const rest = (m[2] ?? '').trim();
      this.pos++;
      if (rest !== '') {
        out[key] = parseInline(rest, line.no);
        continue;
      }
      const next = this.lines[this.pos];
      if (next !== undefined && next.indent > indent) {
        out[key] = this.parseBlock(next.indent);
      } else if (
        next !== undefined &&
        next.indent === indent &&
        (next.text === '-' || next.text.startsWith('- '))
      ) {
        // YAML allows a block sequence at the same indentation as its parent key.
        out[key] = this.parseSequence(indent);
      } else {
        out[key] = null;
      }
    }
    return out;
  }
}

/** Parses a YAML document of the supported subset. Throws `YamlSyntaxError` with a line number. */
export function parseYaml(source: string): YamlValue {
  return new Parser(splitLines(source)).parseDocument();
}
