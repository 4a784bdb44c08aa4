/**
 * RFC 3501 §6.4.4 SEARCH evaluation. Flag, size, date and set keys use the listing only; header
 * keys read just the header block, BODY/TEXT the whole message, each at most once per message, and
 * compare case-insensitively against the decoded text (`@yubin/mime`: RFC 2047 words, transfer
 * encodings, charsets).
 */
import { isStoreError, type MessageMeta, type MessageStructure } from '@yubin/core';
import {
  bodyMatches,
  decodeHeaderValue,
  headerFieldMatches,
  headerMayMatch,
  parseHeader,
  type TextQuery,
  textQuery,
} from '@yubin/mime';
import { bad } from './errors.js';
import {
  compareImapDate,
  type ImapDate,
  resolveSeqSet,
  resolveUidSet,
  type SearchKey,
  toImapDate,
} from './protocol/index.js';
import type { SelectedView } from './selected-view.js';

/** Upper-cased system flag → its canonical spelling. */
const SYSTEM_FLAGS = new Map(
  ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'].map((f) => [f.toUpperCase(), f] as const),
);

interface HeaderData {
  /** Upper-cased field name → values, unfolded, raw and RFC 2047-decoded, case-folded. */
  readonly fields: Map<string, string[]>;
}

/** Messages examined at once when the key reads their content: file reads overlap. */
const SEARCH_CONCURRENCY = 128;
/** Octets of whole messages read at once by BODY/TEXT: large messages are examined a few at a time. */
const SEARCH_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Messages tested between two yields to the event loop when nothing is read (flags, sizes, sets). */
const SEARCH_YIELD_EVERY = 2048;

/** Per-message lazy data, so that each message is read at most once per SEARCH. */
class Candidate {
  private header: Promise<HeaderData> | null = null;
  private whole: Promise<{ structure: MessageStructure; raw: Buffer }> | null = null;
  /** `wholeMessage`: the key reads the body too, so the header comes from the same single read. */
  constructor(
    readonly box: SelectedView,
    readonly seq: number,
    readonly meta: MessageMeta,
    private readonly wholeMessage: boolean,
  ) {}

  private message(): Promise<{ structure: MessageStructure; raw: Buffer }> {
    this.whole ??= (async () => {
      const structure = await this.box.view.structure(this.meta.uid);
      return { structure, raw: await this.box.view.read(this.meta.uid) };
    })();
    return this.whole;
  }

  headers(): Promise<HeaderData> {
    this.header ??= (async () => {
      let bytes: Buffer;
      if (this.wholeMessage) {
        const { structure, raw } = await this.message();
        bytes = raw.subarray(structure.body.headerStart, structure.body.headerEnd);
      } else {
        const st = await this.box.view.structure(this.meta.uid);
        bytes = await this.box.view.read(this.meta.uid, {
          start: st.body.headerStart,
          end: st.body.headerEnd,
        });
      }
      const fields = new Map<string, string[]>();
      for (const f of parseHeader(bytes)) {
        const key = f.name.toUpperCase();
        const list = fields.get(key) ?? [];
        list.push(fold(f.value), fold(decodeHeaderValue(f.value)));
        fields.set(key, list);
      }
      return { fields };
    })();
    return this.header;
  }

  /**
   * RFC 3501 §6.4.4 BODY: the decoded text of the body parts (transfer encoding and charset undone)
   * contains the needle, case-insensitively. US-ASCII parts are matched in their bytes.
   */
  async bodyMatches(query: TextQuery): Promise<boolean> {
    const { structure, raw } = await this.message();
    return bodyMatches(raw, structure, query);
  }

  /** RFC 3501 §6.4.4 TEXT: a header field or the body contains the needle. */
  async textMatches(query: TextQuery): Promise<boolean> {
    const { structure, raw } = await this.message();
    const { headerStart, headerEnd } = structure.body;
    // Most headers can be ruled out from their bytes; the others are parsed and decoded.
    if (
      headerMayMatch(raw, query, headerStart, headerEnd) &&
      (this.header !== null
        ? hasValue((await this.headers()).fields, query.folded)
        : headerFieldMatches(raw.subarray(headerStart, headerEnd), query))
    )
      return true;
    return bodyMatches(raw, structure, query);
  }
}

function hasValue(fields: Map<string, string[]>, needle: string): boolean {
  for (const values of fields.values()) if (values.some((v) => v.includes(needle))) return true;
  return false;
}

/** Case folding for substring comparison (RFC 3501 §6.4.4: case-insensitive). */
function fold(s: string): string {
  return s.toLowerCase();
}

/** Calendar date of a Date header in the sender's own zone (RFC 3501 §6.4.4 SENTON etc.). */
function sentDate(raw: string | undefined): ImapDate | null {
  if (!raw) return null;
  const cleaned = raw.replace(/\([^)]*\)/g, ' ').trim();
  const t = Date.parse(cleaned);
  if (Number.isNaN(t)) return null;
  const zone = /([+-])(\d\d)(\d\d)\s*$/.exec(cleaned);
  const offset = zone ? (zone[1] === '-' ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3])) : 0;
  return toImapDate(new Date(t), offset);
}

/** Evaluates the key tree over the selected mailbox; returns matching sequence numbers, ascending. */
export async function evaluateSearch(
  box: SelectedView,
  key: SearchKey,
  savedUids?: readonly number[],
): Promise<number[]> {
  const sets = new Map<SearchKey, Set<number>>();
  const setOf = (k: Extract<SearchKey, { op: 'seq' | 'uid' }>): Set<number> => {
    let s = sets.get(k);
    if (!s) {
      if (k.op === 'seq') {
        const savedSeqs = savedUids?.map((u) => box.seqOf(u)).filter((n) => n > 0);
        s = new Set(resolveSeqSet(k.set, box.exists, savedSeqs));
      } else {
        s = new Set(resolveUidSet(k.set, box.uids(), savedUids));
      }
      sets.set(k, s);
    }
    return s;
  };

  const queries = new Map<string, TextQuery>();
  const queryOf = (needle: string): TextQuery => {
    let q = queries.get(needle);
    if (q === undefined) {
      q = textQuery(needle);
      queries.set(needle, q);
    }
    return q;
  };

  /**
   * The keys that need no message content, compiled once into closures and evaluated without a
   * promise per message (SEARCH UNSEEN over a folder costs one flag scan per message, no strings).
   */
  type NowTest = (meta: MessageMeta, seq: number) => boolean;
  const compileNow = (k: SearchKey): NowTest => {
    switch (k.op) {
      case 'all':
        return () => true;
      case 'and': {
        const subs = k.keys.map(compileNow);
        return (meta, seq) => {
          for (const sub of subs) if (!sub(meta, seq)) return false;
          return true;
        };
      }
      case 'or': {
        const a = compileNow(k.a);
        const b = compileNow(k.b);
        return (meta, seq) => a(meta, seq) || b(meta, seq);
      }
      case 'not': {
        const sub = compileNow(k.key);
        return (meta, seq) => !sub(meta, seq);
      }
      case 'flag':
        return flagTest(k.flag, box, k.set);
      case 'size': {
        const size = k.size;
        return k.cmp === 'larger' ? (meta) => meta.size > size : (meta) => meta.size < size;
      }
      case 'seq':
      case 'uid': {
        const set = setOf(k);
        return (_meta, seq) => set.has(seq);
      }
      case 'date': {
        if (k.field !== 'internal') throw new Error('content key in testNow');
        const { date, cmp: op } = k;
        return (meta) => {
          const cmp = compareImapDate(toImapDate(meta.internalDate, 0), date);
          return op === 'before' ? cmp < 0 : op === 'on' ? cmp === 0 : cmp >= 0;
        };
      }
      case 'header':
      case 'body':
      case 'text':
        throw new Error('content key in testNow');
      case 'modseq':
        throw bad('CONDSTORE is not supported');
    }
  };

  const test = async (k: SearchKey, c: Candidate): Promise<boolean> => {
    switch (k.op) {
      case 'all':
        return true;
      case 'and':
        for (const sub of k.keys) if (!(await test(sub, c))) return false;
        return true;
      case 'or':
        return (await test(k.a, c)) || (await test(k.b, c));
      case 'not':
        return !(await test(k.key, c));
      case 'flag':
        return flagTest(k.flag, box, k.set)(c.meta);
      case 'size':
        return k.cmp === 'larger' ? c.meta.size > k.size : c.meta.size < k.size;
      case 'seq':
      case 'uid':
        return setOf(k).has(c.seq);
      case 'date': {
        let d: ImapDate | null;
        if (k.field === 'internal') d = toImapDate(c.meta.internalDate, 0);
        else d = sentDate((await c.headers()).fields.get('DATE')?.[0]);
        if (d === null) return false;
        const cmp = compareImapDate(d, k.date);
        return k.cmp === 'before' ? cmp < 0 : k.cmp === 'on' ? cmp === 0 : cmp >= 0;
      }
      case 'header': {
        const values = (await c.headers()).fields.get(k.field.toUpperCase());
        if (!values) return false;
        // RFC 3501 §6.4.4: an empty string matches every message that has the field.
        const needle = fold(k.value);
        return values.some((v) => v.includes(needle));
      }
      case 'body':
        return c.bodyMatches(queryOf(k.value));
      case 'text':
        return c.textMatches(queryOf(k.value));
      case 'modseq':
        throw bad('CONDSTORE is not supported');
    }
  };

  const messages = box.view.messages;
  const content = readsContent(key);
  const wholeMessage = readsBody(key);
  const matches = async (i: number): Promise<boolean> => {
    const c = new Candidate(box, i + 1, messages[i] as MessageMeta, wholeMessage);
    try {
      return await test(key, c);
    } catch (err) {
      // A message expunged by another session meanwhile matches nothing (RFC 2180 §4.1).
      if (!isStoreError(err, 'EXPUNGED') && !isStoreError(err, 'NOT_FOUND')) throw err;
      return false;
    }
  };
  const out: number[] = [];
  if (!content) {
    const testNow = compileNow(key);
    for (let i = 0; i < messages.length; i++) {
      if (testNow(messages[i] as MessageMeta, i + 1)) out.push(i + 1);
      // Other sessions are served meanwhile, even over 100k messages.
      if (i % SEARCH_YIELD_EVERY === SEARCH_YIELD_EVERY - 1) await new Promise((r) => setImmediate(r));
    }
    return out;
  }
  // Messages are read SEARCH_CONCURRENCY at a time, and no more than SEARCH_BYTES_IN_FLIGHT octets
  // of them (a worker waits while others hold that much); results are collected in sequence order.
  let next = 0;
  let inFlight = 0;
  let waiting: Array<() => void> = [];
  const hits = new Uint8Array(messages.length);
  const worker = async () => {
    while (next < messages.length) {
      const size = wholeMessage ? (messages[next] as MessageMeta).size : 0;
      if (inFlight > 0 && inFlight + size > SEARCH_BYTES_IN_FLIGHT) {
        await new Promise<void>((resume) => waiting.push(resume));
        continue;
      }
      const i = next++;
      inFlight += size;
      try {
        if (await matches(i)) hits[i] = 1;
      } finally {
        inFlight -= size;
        const resume = waiting;
        waiting = [];
        for (const r of resume) r();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SEARCH_CONCURRENCY, messages.length) }, worker));
  for (let i = 0; i < hits.length; i++) if (hits[i] === 1) out.push(i + 1);
  return out;
}

/**
 * Whether a message has `flag` (`want` true) or lacks it (false): \Recent from the session, system
 * flags case-insensitively (the store gives them in canonical form, so an exact comparison nearly
 * always decides), keywords case-insensitively as atoms compare (RFC 3501 §9 flag-keyword).
 */
function flagTest(flag: string, box: SelectedView, want: boolean): (meta: MessageMeta) => boolean {
  const upper = flag.toUpperCase();
  if (upper === '\\RECENT') return (meta) => box.isRecent(meta.uid) === want;
  const canonical = SYSTEM_FLAGS.get(upper);
  // Indexed loops: SEARCH UNSEEN runs this for every message of the mailbox.
  if (canonical !== undefined) {
    const length = canonical.length;
    return (meta) => {
      const flags = meta.flags;
      for (let i = 0; i < flags.length; i++) {
        const f = flags[i] as string;
        if (f === canonical || (f.length === length && f.toUpperCase() === upper)) return want;
      }
      return !want;
    };
  }
  const lower = flag.toLowerCase();
  return (meta) => {
    const flags = meta.flags;
    for (let i = 0; i < flags.length; i++) {
      const f = flags[i] as string;
      if (f.length === lower.length && f.toLowerCase() === lower) return want;
    }
    return !want;
  };
}

/** True when evaluating `key` may read a message's header or body. */
function readsContent(key: SearchKey): boolean {
  switch (key.op) {
    case 'and':
      return key.keys.some(readsContent);
    case 'or':
      return readsContent(key.a) || readsContent(key.b);
    case 'not':
      return readsContent(key.key);
    case 'date':
      return key.field !== 'internal';
    case 'header':
    case 'body':
    case 'text':
      return true;
    default:
      return false;
  }
}

/** True when evaluating `key` may read a message's body (then its header comes from the same read). */
function readsBody(key: SearchKey): boolean {
  switch (key.op) {
    case 'and':
      return key.keys.some(readsBody);
    case 'or':
      return readsBody(key.a) || readsBody(key.b);
    case 'not':
      return readsBody(key.key);
    case 'body':
    case 'text':
      return true;
    default:
      return false;
  }
}
