/**
 * `yubin trace`: follows one message through the log. Every service writes JSON lines to the same
 * file; SMTP gives each accepted transaction a trace id (also in the message's `Received:` header),
 * the store keeps it with the message, and POP3 and IMAP log every later touch with it. Connection
 * lines carry no trace id, so they are joined to a journey by their session id (`cid`).
 */

/** One parsed log line (pino JSON). */
export interface LogLine {
  readonly time?: string;
  readonly app?: string;
  readonly cid?: string;
  readonly trace?: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface Journey {
  readonly traceId: string;
  /** Every line of the journey in time order, session context lines included. */
  readonly events: readonly LogLine[];
  readonly messageId?: string;
  readonly subject?: string;
  readonly from?: string;
}

export type TraceQuery =
  | { readonly kind: 'trace'; readonly id: string }
  | { readonly kind: 'message-id'; readonly id: string }
  | { readonly kind: 'recipient'; readonly address: string };

/** A Message-ID has angle brackets or no @-free local part; a trace id has neither `@` nor `<`. */
export function parseQuery(arg: string): TraceQuery {
  const trimmed = arg.trim();
  if (trimmed.startsWith('<') && trimmed.endsWith('>')) return { kind: 'message-id', id: trimmed };
  if (!trimmed.includes('@')) return { kind: 'trace', id: trimmed };
  // Both a Message-ID and an address contain "@": decide once the log has been read (see select).
  return { kind: 'recipient', address: trimmed.toLowerCase() };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Parses a JSON line; anything else (a torn last line, pretty output) is skipped. */
export function parseLine(text: string): LogLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

const SESSION_CONTEXT = new Set([
  'smtp connection',
  'connection opened',
  'login',
  'logged in',
  'authenticated',
]);

/**
 * Picks the journeys a query asks for from all log lines (in file order). A Message-ID query
 * written without brackets (it contains `@`) is matched as a Message-ID first, then as a recipient.
 */
export function selectJourneys(lines: readonly LogLine[], query: TraceQuery, limit = 20): Journey[] {
  const traceIds = new Set<string>();
  const normalizeId = (id: string) => id.replace(/^<|>$/g, '').toLowerCase();
  const matchMessageId = (id: string) => {
    const want = normalizeId(id);
    for (const l of lines) {
      const mid = str(l.messageId);
      if (l.trace && mid && normalizeId(mid) === want) traceIds.add(l.trace);
    }
  };
  if (query.kind === 'trace') {
    if (lines.some((l) => l.trace === query.id)) traceIds.add(query.id);
  } else if (query.kind === 'message-id') {
    matchMessageId(query.id);
  } else {
    matchMessageId(query.address);
    if (traceIds.size === 0) {
      for (const l of lines) {
        if (!l.trace) continue;
        const rcpt = str(l.rcpt)?.toLowerCase();
        const user = str(l.user)?.toLowerCase();
        const users = Array.isArray(l.users) ? l.users.map((u) => String(u).toLowerCase()) : [];
        if (
          rcpt === query.address ||
          users.includes(query.address) ||
          (l.msg === 'message delivered' && user === query.address)
        )
          traceIds.add(l.trace);
      }
    }
  }
  const ids = [...traceIds].slice(-limit);
  return ids.map((id) => buildJourney(lines, id));
}

function buildJourney(lines: readonly LogLine[], traceId: string): Journey {
  const own = lines.filter((l) => l.trace === traceId);
  // Sessions that touched the message: add their connection/login lines for context.
  const sessions = new Set(own.map((l) => l.cid).filter((c): c is string => typeof c === 'string'));
  const context = lines.filter(
    (l) =>
      l.trace !== traceId && l.cid !== undefined && sessions.has(l.cid) && SESSION_CONTEXT.has(l.msg ?? ''),
  );
  const events = [...own, ...context].sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
  const accepted = own.find((l) => l.msg === 'message accepted');
  const messageId = str(accepted?.messageId);
  const subject = str(accepted?.subject);
  const from = str(own.find((l) => l.msg === 'mail from')?.from);
  return {
    traceId,
    events,
    ...(messageId ? { messageId } : {}),
    ...(subject ? { subject } : {}),
    ...(from !== undefined ? { from } : {}),
  };
}

function clock(time: string | undefined): string {
  if (!time) return '            ';
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? time : d.toISOString().replace('T', ' ').slice(0, 23);
}

/** A human sentence for each kind of event; unknown events fall back to their message and fields. */
export function describe(l: LogLine): string {
  const f = (k: string) =>
    str(l[k]) ?? (typeof l[k] === 'number' || typeof l[k] === 'boolean' ? String(l[k]) : undefined);
  switch (l.msg) {
    case 'smtp connection':
      return `client ${f('remote')} connected`;
    case 'connection opened':
      return `client ${f('remoteAddress') ?? f('remote') ?? '?'} connected${l.secure ? ' over TLS' : ''}`;
    case 'login':
    case 'logged in':
    case 'authenticated':
      return `${f('user')} logged in${f('method') ? ` (${f('method')})` : ''}`;
    case 'mail from':
      return `MAIL FROM <${f('from') ?? ''}> from ${f('remote')}${l.tls ? ' over TLS' : ''} (HELO ${f('helo') ?? '?'})`;
    case 'rcpt routed': {
      const users = Array.isArray(l.users) ? l.users.join(', ') : '';
      return `RCPT TO <${f('rcpt')}> → ${users} (${f('via')})`;
    }
    case 'relay denied':
      return `RCPT TO <${f('rcpt')}> refused: relaying denied`;
    case 'unknown recipient':
      return `RCPT TO <${f('rcpt')}> refused: no such user`;
    case 'recipient over quota':
      return `RCPT TO <${f('rcpt')}> refused for now: ${f('user')} is over quota`;
    case 'message accepted':
      return `DATA accepted: ${f('size')} bytes, Message-ID ${f('messageId') ?? '(none)'}, Subject "${f('subject') ?? ''}"`;
    case 'message delivered':
      return `stored for ${f('user')} in ${f('mailbox')}${f('uid') ? ` as UID ${f('uid')}` : ''} (${f('location')})`;
    case 'uid assigned':
      return `numbered UID ${f('uid')} in ${f('mailbox')} of ${f('user')} (${f('location')})`;
    case 'delivery failed':
      return `delivery failed: ${f('reply') ?? ''}`;
    case 'message retrieved':
      return `${f('command') ?? 'read'} by ${f('user')} (UID ${f('uid')}, ${f('octets') ?? '?'} octets)`;
    case 'message deleted':
      return `${f('command') ?? 'deleted'} by ${f('user')} (UID ${f('uid')})`;
    case 'message fetched':
      return `FETCH ${f('items') ?? ''} by ${f('user')} in ${f('mailbox')} (UID ${f('uid')})`;
    case 'flags changed':
      return `flags of UID ${f('uid')} in ${f('mailbox')} set to ${Array.isArray(l.flags) ? `(${l.flags.join(' ')})` : f('flags')} by ${f('user')}`;
    case 'message copied':
    case 'message moved':
      return `${l.msg === 'message moved' ? 'MOVE' : 'COPY'} by ${f('user')}: ${f('mailbox')} UID ${f('uid')} → ${f('destination')} UID ${f('destUid')}`;
    case 'message expunged':
      return `expunged by ${f('user')} from ${f('mailbox')} (UID ${f('uid')})`;
    case 'rcpt relayed':
      return `RCPT TO <${f('rcpt')}> → outbound queue (another server's domain)`;
    case 'message queued': {
      const rcpts = Array.isArray(l.rcpts) ? l.rcpts.join(', ') : '';
      return `queued as ${f('queueId')} for ${rcpts}`;
    }
    case 'relay delivered':
      return `relayed to <${f('rcpt')}> via ${f('mta') ?? '?'}: ${f('response') ?? ''}`;
    case 'relay deferred':
      return `relay to <${f('rcpt')}> deferred (attempt ${f('attempts') ?? '?'}): ${f('response') ?? ''}`;
    case 'relay failed':
      return `relay to <${f('rcpt')}> failed for good (${f('status') ?? '?'}): ${f('response') ?? ''}`;
    case 'bounce delivered':
      return `bounce (RFC 3464) delivered to ${f('user')} in ${f('mailbox')}${f('uid') ? ` as UID ${f('uid')}` : ''}`;
    case 'auth checked': {
      const dkim = Array.isArray(l.dkim) && l.dkim.length > 0 ? l.dkim.join(' ') : 'none';
      return `checked: SPF ${f('spf')}, DKIM ${dkim}, DMARC ${f('dmarc')}${f('dmarcPolicy') ? ` (p=${f('dmarcPolicy')})` : ''}`;
    }
    case 'message refused by checks':
      return `refused by the DMARC policy: ${f('reply') ?? ''}`;
    case 'message appended':
      return `APPEND by ${f('user')} to ${f('mailbox')} as UID ${f('uid')}`;
    default: {
      const skip = new Set(['time', 'level', 'app', 'pid', 'hostname', 'cid', 'trace', 'msg']);
      const rest = Object.entries(l)
        .filter(([k]) => !skip.has(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      return `${l.msg ?? '(no message)'}${rest ? ` ${rest}` : ''}`;
    }
  }
}

export function formatJourney(j: Journey): string {
  const head = [`Trace ${j.traceId}`];
  if (j.from !== undefined) head.push(`from <${j.from}>`);
  if (j.messageId) head.push(`Message-ID ${j.messageId}`);
  if (j.subject) head.push(`Subject "${j.subject}"`);
  const rows = j.events.map(
    (l) => `  ${clock(l.time)}  ${(l.app ?? '?').padEnd(4)}  ${(l.cid ?? '').padEnd(16)}  ${describe(l)}`,
  );
  return `${head.join('  ')}\n${rows.join('\n')}\n`;
}
