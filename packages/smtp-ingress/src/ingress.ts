/**
 * SMTP ingress: accepts mail for local domains only, routes each recipient (users, aliases,
 * catch-all, sub-addresses) and delivers durably into the store before answering `250`.
 *
 * Layering: `smtp-server` is the protocol engine (parser, state machine, ESMTP extensions); this
 * module supplies its hooks — policy at RCPT, routing, and the begin → body → commit/abort delivery.
 */
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import {
  type Delivery,
  type DeliveryTarget,
  isLoopbackAddress,
  type Log,
  type MailStore,
  type QuotaUsage,
  type RecipientResolver,
} from '@yubin/core';
import { authenticate } from 'mailauth';
import type {
  SMTPServerAddress,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';
import { installEnhancedCodeOverride, SmtpReplyError } from './enhanced-codes.js';
import { deliveredToHeader, receivedHeader, returnPathHeader } from './headers.js';
import { createSmtpListener } from './listener.js';
import { PerAddressConnections } from './per-address.js';
import { pump } from './pump.js';
import { REPLY, smtpReplyForError } from './replies.js';
import { lookupRoute } from './route.js';
import { sessionLogs, smtpServerLogger } from './smtp-log.js';
import { describeTraceHeader } from './trace-header.js';

/** RFC 5321 §4.5.3.1.8 requires accepting at least 100 recipients. */
export const DEFAULT_MAX_RECIPIENTS = 100;
export const DEFAULT_MAX_MESSAGE_SIZE = 25 * 1024 * 1024;
/** RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for the next command. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_CONNECTIONS = 1000;
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 50;
/** Header bytes collected to read Message-ID/From/Subject for the trace log. */
const MAX_TRACE_HEADER_BYTES = 64 * 1024;

export interface SmtpTls {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

/** What to do when DMARC fails (RFC 7489 §6.6.2): see `AuthCheckOptions.dmarcPolicy`. */
export type DmarcPolicy = 'accept' | 'tag' | 'reject';

/** SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC (RFC 8617) with mailauth. */
export interface AuthCheckOptions {
  /** DNS in the shape `(name, rrtype) → records` (node's `Resolver#resolve`); tests inject answers. */
  readonly resolver: (name: string, rrtype: string) => Promise<string[][] | string[]>;
  /**
   * `accept`: only add Authentication-Results; `tag`: also add `X-Yubin-DMARC` when DMARC fails;
   * `reject`: apply the sender domain's policy — p=reject → `550 5.7.1`, p=quarantine → Junk, and a
   * DMARC temperror → `451 4.4.3` (a DNS failure never loses a message: the client tries again).
   */
  readonly dmarcPolicy: DmarcPolicy;
  /** Bound on all checks of one message. Default 30 s. */
  readonly timeoutMs?: number;
  /** Check connections from loopback too (default false: local programs are trusted, like Postfix's mynetworks). */
  readonly checkLoopback?: boolean;
}

/** All look-ups of one message together (several queries, each with its own resolver timeout). */
export const DEFAULT_AUTH_CHECK_TIMEOUT_MS = 30_000;

export interface SmtpIngressOptions {
  readonly store: MailStore;
  readonly resolver: RecipientResolver;
  readonly log: Log;
  /** Our name in the greeting, EHLO reply and Received: header. */
  readonly hostname: string;
  /** Enables STARTTLS. */
  readonly tls?: SmtpTls;
  readonly maxMessageSize?: number;
  readonly maxRecipients?: number;
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  /**
   * RFC 5321 §4.5.3.2.7 server timeout, and the per-record deadline: a command line must be
   * complete within it of our last reply, however many partial bytes arrive meanwhile.
   */
  readonly idleTimeoutMs?: number;
  /** Least average rate of a DATA body in octets per second (Postfix's smtpd_min_data_rate); 0: off. */
  readonly minDataRate?: number;
  /** How long a DATA body may arrive slower than `minDataRate` before the rate counts. */
  readonly dataRateGraceMs?: number;
  /** Log the raw SMTP dialogue at info (transcript mode); otherwise at trace. */
  readonly transcript?: boolean;
  /** Trace id generator (one id per accepted transaction). */
  readonly newTraceId?: () => string;
  /**
   * Verify SPF/DKIM/DMARC/ARC and add Authentication-Results (RFC 8601). The message is then held
   * in memory (up to `maxMessageSize`) until the checks are done, because the result header comes
   * first in the stored copy.
   */
  readonly authChecks?: AuthCheckOptions;
}

export interface SmtpIngress {
  listen(options: { port: number; host: string }): Promise<AddressInfo>;
  /** Serves a connection accepted elsewhere (see SmtpListener.accept). */
  accept(socket: Socket, options?: { refuse?: boolean }): void;
  /** Replaces the STARTTLS certificate for new connections. */
  updateTls(tls: SmtpTls): void;
  close(): Promise<void>;
  connections(): number;
}

/** Per-transaction state, keyed by the smtp-server session. */
interface Transaction {
  traceId: string;
  log: Log;
  /** Canonical user → the recipient address that first reached it. */
  targets: Map<string, string>;
}

function defaultTraceId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/** Keeps the first bytes of a message, to read its header for the log. */
class HeaderKeeper {
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(private readonly limit: number) {}

  /** Takes a chunk; false once it has enough. */
  readonly push = (chunk: Buffer): boolean => {
    if (this.kept >= this.limit) return false;
    this.chunks.push(chunk);
    this.kept += chunk.length;
    return this.kept < this.limit;
  };

  /** The header block (up to and including the blank line), within the limit. */
  header(): Buffer {
    const all = Buffer.concat(this.chunks).subarray(0, this.limit);
    const crlf = all.indexOf('\r\n\r\n');
    const lf = all.indexOf('\n\n');
    const cut = crlf >= 0 ? crlf + 4 : lf >= 0 ? lf + 2 : all.length;
    return all.subarray(0, cut);
  }
}

/** Collects the DATA stream in memory, keeping at most `limit` bytes. */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  private kept = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.kept < this.limit) this.chunks.push(chunk);
    this.kept += chunk.length;
    done();
  }
}

interface AuthVerdict {
  /** Header lines (CRLF-terminated) to put above the message. */
  readonly headers: string;
  /** Deliver to this mailbox instead of INBOX (DMARC quarantine). */
  readonly mailbox?: string;
  readonly fields: Record<string, unknown>;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`authentication checks took over ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createSmtpIngress(options: SmtpIngressOptions): SmtpIngress {
  installEnhancedCodeOverride();
  // The process's root logger carries `app`; sessions add `cid`, transactions `trace`.
  const log = options.log;
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const perAddress = new PerAddressConnections(
    options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  );
  const newTraceId = options.newTraceId ?? defaultTraceId;
  const transactions = new WeakMap<SMTPServerSession, Transaction>();
  let open = 0;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;

  const sessionLog = sessionLogs(log);

  const serverOptions: SMTPServerOptions = {
    name: options.hostname,
    banner: 'yubin ESMTP ready',
    size: maxMessageSize,
    // RFC 1870: answer an oversized message with 552 5.3.4 whatever the data hook says.
    rejectOversized: true,
    hideENHANCEDSTATUSCODES: false,
    hideSTARTTLS: !options.tls,
    // Ingress takes mail for local users only; authenticated submission is a separate listener.
    authOptional: true,
    disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    maxRecipients: options.maxRecipients ?? DEFAULT_MAX_RECIPIENTS,
    maxClients: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    // An inactivity timer, kept as a backstop; the slow-client guard below holds the deadlines.
    socketTimeout: idleTimeoutMs,
    closeTimeout: 5_000,
    // No reverse DNS: it is slow, unreliable offline, and the Received: line carries the address.
    disableReverseLookup: true,
    minVersion: 'TLSv1.2',
    logger: smtpServerLogger(log, options.transcript ?? false),
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),

    onConnect(session, callback) {
      const address = session.remoteAddress;
      const allowed = perAddress.open(address);
      open++;
      sessionLog(session).info({ remote: address, port: session.remotePort }, 'smtp connection');
      if (!allowed) {
        sessionLog(session).warn(
          { remote: address, count: perAddress.count(address) },
          'too many connections from address',
        );
        callback(REPLY.tooManyFromAddress());
        return;
      }
      callback();
    },

    onClose(session) {
      perAddress.close(session.remoteAddress);
      open = Math.max(0, open - 1);
      sessionLog(session).debug('smtp connection closed');
    },

    onMailFrom(address, session, callback) {
      // RFC 5321 §4.1.4: MAIL starts a new transaction; the trace id follows this message everywhere.
      const traceId = newTraceId();
      const txLog = sessionLog(session).child({ trace: traceId });
      transactions.set(session, { traceId, log: txLog, targets: new Map() });
      txLog.info(
        {
          from: address.address,
          remote: session.remoteAddress,
          tls: session.secure,
          helo: session.hostNameAppearsAs,
        },
        'mail from',
      );
      callback();
    },

    onRcptTo(address, session, callback) {
      handleRcpt(address, session).then(
        () => callback(),
        (err: unknown) => {
          // STYLE.md §4: the client sees a mapped reply, never an internal message.
          const reply = smtpReplyForError(err);
          if (reply !== err)
            sessionLog(session).error({ err, rcpt: address.address }, 'recipient check failed');
          callback(reply);
        },
      );
    },

    onData(stream, session, callback) {
      handleData(stream, session).then(
        (message) => callback(null, message),
        (err: unknown) => callback(smtpReplyForError(err)),
      );
    },
  };

  async function handleRcpt(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const tx = transactions.get(session);
    if (!tx) throw REPLY.temporary();
    const rcpt = address.address;
    const route = await lookupRoute(options.resolver, rcpt, tx.log);
    if (route.kind === 'foreign') {
      // RFC 5321 §3.6.2 / §7.1: no relaying for unauthenticated clients.
      tx.log.info({ rcpt, remote: session.remoteAddress }, 'relay denied');
      throw REPLY.relayDenied();
    }
    if (route.kind === 'unknown') {
      tx.log.info({ rcpt }, 'unknown recipient');
      throw REPLY.unknownUser();
    }
    // Quota at RCPT (RFC 5321 §4.2.2 452: temporary, the client retries later).
    // RFC 1870: the SIZE declared at MAIL FROM, when given, is checked against the quota here too.
    const mailArgs = session.envelope.mailFrom ? session.envelope.mailFrom.args : false;
    const mailSize = (mailArgs && Number(mailArgs.SIZE)) || 0;
    for (const user of route.users) {
      let quota: QuotaUsage;
      try {
        quota = await options.store.account(user).quota();
      } catch (err) {
        // The resolver knows the user: a store failure here is ours and passing (RFC 5321 §4.2.5:
        // 451), never a permanent "no such mailbox" that would make the sender bounce the mail.
        tx.log.error({ err, rcpt, user }, 'quota check failed');
        throw REPLY.temporary();
      }
      const overBytes = quota.maxBytes !== undefined && quota.bytes + mailSize > quota.maxBytes;
      const overCount = quota.maxMessages !== undefined && quota.messages + 1 > quota.maxMessages;
      if (overBytes || overCount) {
        tx.log.info({ rcpt, user, quota }, 'recipient over quota');
        throw REPLY.mailboxFull();
      }
    }
    for (const user of route.users) if (!tx.targets.has(user)) tx.targets.set(user, rcpt);
    tx.log.info({ rcpt, users: route.users, via: route.via }, 'rcpt routed');
  }

  async function handleData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const tx = transactions.get(session);
    const rcpts = session.envelope.rcptTo.map((r) => r.address);
    if (!tx || tx.targets.size === 0) {
      stream.resume();
      await new Promise((resolve) => stream.once('end', resolve));
      throw REPLY.temporary();
    }
    const reversePath = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const now = new Date();
    const protocol = `${session.envelope.smtpUtf8 ? 'UTF8' : ''}ESMTP${session.secure ? 'S' : ''}`;
    const tlsInfo = session.tlsOptions
      ? `${session.tlsOptions.version} ${session.tlsOptions.name}`
      : undefined;
    const received = receivedHeader({
      helo: session.hostNameAppearsAs || '',
      clientAddress: session.remoteAddress,
      byHost: options.hostname,
      protocol,
      id: tx.traceId,
      date: now,
      ...(rcpts.length === 1 && rcpts[0] ? { for: rcpts[0] } : {}),
      ...(tlsInfo ? { tls: tlsInfo } : {}),
    });
    const targets: DeliveryTarget[] = [...tx.targets.keys()].map((user) => ({
      user,
      prefix: returnPathHeader(reversePath) + deliveredToHeader(user) + received,
    }));
    const checks = options.authChecks;
    if (checks && (checks.checkLoopback || !isLoopbackAddress(session.remoteAddress))) {
      return deliverChecked(checks, stream, session, tx, targets, now, rcpts);
    }

    let delivery: Delivery | undefined;
    // The header is kept as the body flows into the store: only once beginDelivery() resolved (a
    // 'data' listener starts the flow, and bytes read before there is a sink would be lost).
    const header = new HeaderKeeper(MAX_TRACE_HEADER_BYTES);
    try {
      delivery = await options.store.beginDelivery({ targets, traceId: tx.traceId, internalDate: now });
      // STYLE.md §4: always drain the DATA stream, then check sizeExceeded before answering.
      await pump(stream, delivery.body, header.push);
      if (stream.sizeExceeded) {
        await delivery.abort();
        tx.log.info({ size: stream.byteLength, max: maxMessageSize }, 'message too big');
        // rejectOversized makes smtp-server answer 552 5.3.4 itself.
        return 'rejected';
      }
      const copies = await delivery.commit();
      const described = describeTraceHeader(header.header());
      tx.log.info({ size: stream.byteLength, rcpts, tls: session.secure, ...described }, 'message accepted');
      for (const copy of copies) {
        tx.log.info(
          { user: copy.user, mailbox: copy.mailbox, location: copy.location, size: copy.size, uid: copy.uid },
          'message delivered',
        );
      }
      // RFC 5321 §4.4: the transaction is done; the next MAIL starts a new trace.
      transactions.delete(session);
      return `OK: queued as ${tx.traceId}`;
    } catch (err) {
      // Drain whatever the client still sends so the reply lands after the final dot.
      stream.resume();
      if (delivery)
        await delivery.abort().catch((abortErr: unknown) => tx.log.error({ err: abortErr }, 'abort failed'));
      const reply = smtpReplyForError(err);
      tx.log.error({ err, reply: reply.message, code: reply.responseCode }, 'delivery failed');
      throw reply;
    }
  }

  async function checkAuth(
    checks: AuthCheckOptions,
    message: Buffer,
    session: SMTPServerSession,
    reversePath: string,
  ): Promise<AuthVerdict> {
    const result = await withTimeout(
      authenticate(message, {
        ip: session.remoteAddress.replace(/^::ffff:/, ''),
        helo: session.hostNameAppearsAs || '',
        sender: reversePath,
        mta: options.hostname,
        resolver: checks.resolver,
        disableBimi: true,
      }),
      checks.timeoutMs ?? DEFAULT_AUTH_CHECK_TIMEOUT_MS,
    );
    const dmarc = result.dmarc || undefined;
    const fields = {
      spf: result.spf ? result.spf.status.result : 'none',
      dkim: result.dkim.results.map((r) => `${r.signingDomain}:${r.status.result}`),
      dmarc: dmarc?.status.result ?? 'none',
      dmarcPolicy: dmarc?.policy,
      arc: result.arc ? result.arc.status.result : 'none',
    };
    // mailauth's `headers`: Received-SPF, Authentication-Results (RFC 8601, authserv-id = our name).
    const headers = result.headers.replace(/\r?\n/g, '\r\n');
    const dmarcResult = dmarc?.status.result;
    if (dmarcResult === 'fail') {
      const published = dmarc?.policy ?? 'none';
      if (checks.dmarcPolicy === 'tag') {
        return { headers: `${headers}X-Yubin-DMARC: fail; policy=${published}\r\n`, fields };
      }
      if (checks.dmarcPolicy === 'reject') {
        // RFC 7489 §6.6.2 / §10.3: honour the domain owner's policy; 550 5.7.1 on p=reject.
        if (published === 'reject')
          throw new SmtpReplyError(550, '5.7.1', 'Message rejected by DMARC policy');
        if (published === 'quarantine') return { headers, mailbox: 'Junk', fields };
      }
    }
    if (dmarcResult === 'temperror' && checks.dmarcPolicy === 'reject') {
      // RFC 7489 §6.6.3: a DNS error leaves the result unknown; ask the client to retry, never drop.
      throw new SmtpReplyError(451, '4.4.3', 'Temporary DNS failure, try again later');
    }
    return { headers, fields };
  }

  /** The DATA path with authentication checks: buffer, check, then begin → body → commit. */
  async function deliverChecked(
    checks: AuthCheckOptions,
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    tx: Transaction,
    targets: DeliveryTarget[],
    now: Date,
    rcpts: string[],
  ): Promise<string> {
    const collector = new Collector(maxMessageSize);
    // STYLE.md §4: drain the whole DATA stream and check sizeExceeded before anything else.
    await pump(stream, collector);
    if (stream.sizeExceeded) {
      tx.log.info({ size: stream.byteLength, max: maxMessageSize }, 'message too big');
      return 'rejected';
    }
    const message = Buffer.concat(collector.chunks);
    const reversePath = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    let verdict: AuthVerdict;
    try {
      verdict = await checkAuth(checks, message, session, reversePath);
    } catch (err) {
      if (err instanceof SmtpReplyError) {
        tx.log.info({ reply: err.message, code: err.responseCode }, 'message refused by checks');
        throw err;
      }
      tx.log.error({ err }, 'authentication checks failed');
      throw new SmtpReplyError(451, '4.4.3', 'Temporary DNS failure, try again later');
    }
    tx.log.info(verdict.fields, 'auth checked');
    let delivery: Delivery | undefined;
    try {
      delivery = await options.store.beginDelivery({
        targets: targets.map((t) => ({
          ...t,
          prefix: `${t.prefix ?? ''}${verdict.headers}`,
          ...(verdict.mailbox ? { mailbox: verdict.mailbox } : {}),
        })),
        traceId: tx.traceId,
        internalDate: now,
      });
      delivery.body.end(message);
      const copies = await delivery.commit();
      const header = describeTraceHeader(message.subarray(0, MAX_TRACE_HEADER_BYTES));
      tx.log.info({ size: message.length, rcpts, tls: session.secure, ...header }, 'message accepted');
      for (const copy of copies) {
        tx.log.info(
          { user: copy.user, mailbox: copy.mailbox, location: copy.location, size: copy.size, uid: copy.uid },
          'message delivered',
        );
      }
      transactions.delete(session);
      return `OK: queued as ${tx.traceId}`;
    } catch (err) {
      if (delivery)
        await delivery.abort().catch((abortErr: unknown) => tx.log.error({ err: abortErr }, 'abort failed'));
      const reply = smtpReplyForError(err);
      tx.log.error({ err, reply: reply.message, code: reply.responseCode }, 'delivery failed');
      throw reply;
    }
  }

  const listener = createSmtpListener({
    serverOptions,
    idleTimeoutMs,
    ...(options.minDataRate !== undefined ? { minDataRate: options.minDataRate } : {}),
    ...(options.dataRateGraceMs !== undefined ? { dataRateGraceMs: options.dataRateGraceMs } : {}),
    log,
    sessionLog,
    listening: 'smtp listening',
    serverError: 'smtp server error',
  });
  return {
    listen: listener.listen,
    accept: listener.accept,
    updateTls: listener.updateTls,
    close: listener.close,
    connections: () => open,
  };
}
