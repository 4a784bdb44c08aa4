/**
 * Message submission (RFC 6409) on `smtp-server`: STARTTLS on the submission port, implicit TLS on
 * the submissions port (RFC 8314 §3.3), AUTH PLAIN/LOGIN (RFC 4954) for local accounts, a send-as
 * policy, then Message-ID/Date completion, DKIM signing, and for each recipient either direct local
 * delivery or the durable outbound queue — all durable before `250`.
 */

import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import {
  type Authenticator,
  type Delivery,
  isLoopbackAddress,
  type Log,
  type MailStore,
  type RecipientResolver,
} from '@yubin/core';
import {
  completeHeader,
  type DkimKey,
  domainOf,
  headerValue,
  type OutboundQueue,
  signMessage,
} from '@yubin/outbound';
import {
  createSmtpListener,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_RECIPIENTS,
  deliveredToHeader,
  installEnhancedCodeOverride,
  lookupRoute,
  PerAddressConnections,
  pump,
  REPLY,
  receivedHeader,
  returnPathHeader,
  SmtpReplyError,
  type SmtpTls,
  sessionLogs,
  smtpReplyForError,
  smtpServerLogger,
} from '@yubin/smtp-ingress';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';

export interface SmtpSubmissionOptions {
  readonly store: MailStore;
  readonly resolver: RecipientResolver;
  readonly authenticator: Authenticator;
  readonly queue: OutboundQueue;
  readonly log: Log;
  readonly hostname: string;
  /** Enables STARTTLS, or is the certificate of the implicit-TLS listener. */
  readonly tls?: SmtpTls;
  /** RFC 8314 §3.3: TLS from the first byte (the submissions port, 465). Needs `tls`. */
  readonly implicitTls?: boolean;
  /** The DKIM key for a sender domain, if it has one. */
  readonly dkimKey?: (domain: string) => DkimKey | undefined;
  /** Called after a message was queued for relay (wakes the runner). */
  readonly onQueued?: () => void;
  /** Passwords over plaintext connections from non-loopback addresses (RFC 8314 §5.4: no). */
  readonly allowPlaintextAuth?: boolean;
  readonly maxMessageSize?: number;
  readonly maxRecipients?: number;
  readonly maxConnections?: number;
  /** Open connections one client address may have on this listener (421 beyond). Default 50. */
  readonly maxConnectionsPerAddress?: number;
  /** RFC 5321 §4.5.3.2.7 server timeout, also the per-record deadline (see `SmtpIngressOptions`). */
  readonly idleTimeoutMs?: number;
  /** Least average rate of a DATA body in octets per second (Postfix's smtpd_min_data_rate); 0: off. */
  readonly minDataRate?: number;
  /** How long a DATA body may arrive slower than `minDataRate` before the rate counts. */
  readonly dataRateGraceMs?: number;
  readonly transcript?: boolean;
  readonly newTraceId?: () => string;
}

export interface SmtpSubmission {
  listen(options: { port: number; host: string }): Promise<AddressInfo>;
  /** Serves a connection accepted elsewhere (see SmtpListener.accept in @yubin/smtp-ingress). */
  accept(socket: Socket, options?: { refuse?: boolean }): void;
  updateTls(tls: SmtpTls): void;
  close(): Promise<void>;
}

interface Transaction {
  readonly traceId: string;
  readonly log: Log;
  /** Local accounts reached (canonical user → first recipient address). */
  readonly local: Map<string, string>;
  /** Recipients at other domains, in order. */
  readonly remote: string[];
}

const SUBMISSION_REPLY = {
  // RFC 4954 §6: 538 5.7.11 "Encryption required for requested authentication mechanism".
  encryptionRequired: () =>
    new SmtpReplyError(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  // RFC 4954 §6: 535 5.7.8 "Authentication credentials invalid".
  badCredentials: () => new SmtpReplyError(535, '5.7.8', 'Authentication credentials invalid'),
  // RFC 4954 §6: 454 4.7.0 "Temporary authentication failure".
  authThrottled: () => new SmtpReplyError(454, '4.7.0', 'Temporary authentication failure, try again later'),
  // RFC 6409 §4.3 / RFC 3463 5.7.1: the sender is not one the user may use.
  senderNotOwned: () =>
    new SmtpReplyError(553, '5.7.1', 'Sender address not owned by the authenticated user'),
} as const;

function defaultTraceId(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/** Collects the DATA stream in memory, at most `limit` bytes (DKIM needs the whole body). */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.size < this.limit) this.chunks.push(chunk);
    this.size += chunk.length;
    done();
  }
}

export function createSmtpSubmission(options: SmtpSubmissionOptions): SmtpSubmission {
  installEnhancedCodeOverride();
  const log = options.log;
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const newTraceId = options.newTraceId ?? defaultTraceId;
  const users = new WeakMap<SMTPServerSession, string>();
  const transactions = new WeakMap<SMTPServerSession, Transaction>();
  if (options.implicitTls && !options.tls) throw new Error('implicit TLS submission needs a certificate');

  const sessionLog = sessionLogs(log);
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;

  /** STYLE.md §4: a hook answers with a mapped reply, never an internal error message. */
  const hookError = (session: SMTPServerSession, err: unknown): Error => {
    const reply = smtpReplyForError(err);
    if (reply !== err) sessionLog(session).error({ err }, 'submission hook failed');
    return reply;
  };

  const perAddress = new PerAddressConnections(
    options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  );
  const serverOptions: SMTPServerOptions = {
    name: options.hostname,
    banner: 'yubin ESMTP submission ready',
    secure: options.implicitTls === true,
    size: maxMessageSize,
    rejectOversized: true,
    hideENHANCEDSTATUSCODES: false,
    hideSTARTTLS: !options.tls || options.implicitTls === true,
    disabledCommands: options.tls ? [] : ['STARTTLS'],
    // RFC 6409 §4.2 / RFC 4954: submission requires authentication.
    authOptional: false,
    authMethods: ['PLAIN', 'LOGIN'],
    // AUTH is advertised everywhere; onAuth refuses it without TLS unless the client is on loopback.
    allowInsecureAuth: true,
    maxRecipients: options.maxRecipients ?? DEFAULT_MAX_RECIPIENTS,
    maxClients: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    // An inactivity timer, kept as a backstop; the slow-client guard below holds the deadlines.
    socketTimeout: idleTimeoutMs,
    closeTimeout: 5_000,
    disableReverseLookup: true,
    minVersion: 'TLSv1.2',
    logger: smtpServerLogger(log, options.transcript ?? false),
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),

    onConnect(session, callback) {
      const allowed = perAddress.open(session.remoteAddress);
      sessionLog(session).info(
        { remote: session.remoteAddress, port: session.remotePort, secure: session.secure },
        'smtp connection',
      );
      if (!allowed) {
        sessionLog(session).warn(
          { remote: session.remoteAddress, count: perAddress.count(session.remoteAddress) },
          'too many connections from address',
        );
        callback(REPLY.tooManyFromAddress());
        return;
      }
      callback();
    },

    onClose(session) {
      perAddress.close(session.remoteAddress);
    },

    onAuth(auth, session, callback) {
      handleAuth(auth, session).then(
        (user) => callback(null, { user }),
        (err: unknown) => callback(hookError(session, err)),
      );
    },

    onMailFrom(address, session, callback) {
      handleMailFrom(address, session).then(
        () => callback(),
        (err: unknown) => callback(hookError(session, err)),
      );
    },

    onRcptTo(address, session, callback) {
      handleRcpt(address, session).then(
        () => callback(),
        (err: unknown) => callback(hookError(session, err)),
      );
    },

    onData(stream, session, callback) {
      handleData(stream, session).then(
        (message) => callback(null, message),
        (err: unknown) => callback(hookError(session, err)),
      );
    },
  };

  async function handleAuth(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<string> {
    const l = sessionLog(session);
    // RFC 8314 §5.4 / RFC 4954 §4: no cleartext password over an unprotected network path.
    if (!session.secure && !isLoopbackAddress(session.remoteAddress) && !options.allowPlaintextAuth) {
      l.info({ remote: session.remoteAddress, method: auth.method }, 'auth refused without tls');
      throw SUBMISSION_REPLY.encryptionRequired();
    }
    const login = auth.username ?? '';
    const result = await options.authenticator.authenticate(login, auth.password ?? '', {
      protocol: 'submission',
      remoteAddress: session.remoteAddress,
      secure: session.secure,
      sessionId: session.id,
    });
    if (!result.ok) {
      l.info({ login, reason: result.reason, method: auth.method }, 'auth failed');
      throw result.reason === 'blocked'
        ? SUBMISSION_REPLY.authThrottled()
        : SUBMISSION_REPLY.badCredentials();
    }
    users.set(session, result.user);
    l.info({ user: result.user, method: auth.method }, 'authenticated');
    return result.user;
  }

  async function handleMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const user = users.get(session);
    if (!user) throw new SmtpReplyError(530, '5.7.0', 'Authentication required');
    const from = address.address;
    const traceId = newTraceId();
    const txLog = sessionLog(session).child({ trace: traceId });
    const allowed =
      from !== '' &&
      (from.toLowerCase() === user ||
        ((await options.resolver.mayUseSender?.(user, from).catch((err: unknown) => {
          txLog.error({ err, from }, 'sender check failed');
          throw REPLY.temporary();
        })) ??
          false));
    if (!allowed) {
      txLog.info({ user, from }, 'sender refused');
      throw SUBMISSION_REPLY.senderNotOwned();
    }
    transactions.set(session, { traceId, log: txLog, local: new Map(), remote: [] });
    txLog.info(
      { from, user, remote: session.remoteAddress, tls: session.secure, helo: session.hostNameAppearsAs },
      'mail from',
    );
  }

  async function handleRcpt(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const tx = transactions.get(session);
    if (!tx) throw REPLY.temporary();
    const rcpt = address.address;
    const route = await lookupRoute(options.resolver, rcpt, tx.log);
    if (route.kind === 'unknown') {
      tx.log.info({ rcpt }, 'unknown recipient');
      throw REPLY.unknownUser();
    }
    if (route.kind === 'foreign') {
      // RFC 6409 §1: an authenticated user may send anywhere; the queue relays it (RFC 5321 §3.6.2).
      if (!tx.remote.includes(rcpt.toLowerCase())) tx.remote.push(rcpt.toLowerCase());
      tx.log.info({ rcpt }, 'rcpt relayed');
      return;
    }
    for (const user of route.users) if (!tx.local.has(user)) tx.local.set(user, rcpt);
    tx.log.info({ rcpt, users: route.users, via: route.via }, 'rcpt routed');
  }

  async function handleData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const tx = transactions.get(session);
    // STYLE.md §4: drain the DATA stream, check sizeExceeded, then answer.
    const collector = new Collector(maxMessageSize);
    await pump(stream, collector);
    if (stream.sizeExceeded) {
      tx?.log.info({ size: stream.byteLength, max: maxMessageSize }, 'message too big');
      return 'rejected';
    }
    if (!tx || (tx.local.size === 0 && tx.remote.length === 0)) throw REPLY.temporary();
    const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const now = new Date();
    let delivery: Delivery | undefined;
    let queuedId: string | undefined;
    try {
      const senderDomain = domainOf(from);
      // RFC 6409 §8.2, §8.3: complete the message (Date, Message-ID) before anything signs it.
      const completed = completeHeader(Buffer.concat(collector.chunks), { domain: senderDomain, now });
      const key = options.dkimKey?.(senderDomain);
      // RFC 6376 §5: the signer's domain is the sender's (aligned with From for DMARC, RFC 7489 §3.1.1).
      const signed = key ? await signMessage(completed.message, key, now) : completed.message;
      const rcpts = session.envelope.rcptTo.map((r) => r.address);
      const received = receivedHeader({
        helo: session.hostNameAppearsAs || '',
        clientAddress: session.remoteAddress,
        byHost: options.hostname,
        // RFC 3848: ESMTPSA = ESMTP + STARTTLS/TLS + AUTH; ESMTPA without TLS.
        protocol: `ESMTP${session.secure ? 'S' : ''}A`,
        id: tx.traceId,
        date: now,
        ...(rcpts.length === 1 && rcpts[0] ? { for: rcpts[0] } : {}),
        ...(session.tlsOptions ? { tls: `${session.tlsOptions.version} ${session.tlsOptions.name}` } : {}),
      });
      const message = Buffer.concat([Buffer.from(received, 'utf8'), signed]);
      if (tx.local.size > 0) {
        delivery = await options.store.beginDelivery({
          targets: [...tx.local.keys()].map((user) => ({
            user,
            prefix: returnPathHeader(from) + deliveredToHeader(user),
          })),
          traceId: tx.traceId,
          internalDate: now,
        });
        delivery.body.end(message);
      }
      if (tx.remote.length > 0) {
        const entry = await options.queue.enqueue({
          from,
          recipients: tx.remote,
          traceId: tx.traceId,
          messageId: completed.messageId,
          message,
          now: now.getTime(),
        });
        queuedId = entry.id;
      }
      const copies = delivery ? await delivery.commit() : [];
      tx.log.info(
        {
          size: message.length,
          rcpts,
          tls: session.secure,
          messageId: completed.messageId,
          from,
          subject: headerValue(completed.message, 'subject'),
          added: completed.added,
          dkim: key ? `${key.selector}._domainkey.${key.domain}` : undefined,
        },
        'message accepted',
      );
      for (const copy of copies) {
        tx.log.info(
          { user: copy.user, mailbox: copy.mailbox, location: copy.location, size: copy.size, uid: copy.uid },
          'message delivered',
        );
      }
      if (queuedId) {
        tx.log.info(
          { queueId: queuedId, rcpts: tx.remote, messageId: completed.messageId },
          'message queued',
        );
        options.onQueued?.();
      }
      transactions.delete(session);
      return `OK: queued as ${tx.traceId}`;
    } catch (err) {
      if (delivery)
        await delivery.abort().catch((abortErr: unknown) => tx.log.error({ err: abortErr }, 'abort failed'));
      // The local copies failed after the relay copy was queued: take it back, the client retries all.
      if (queuedId)
        await options.queue
          .remove(queuedId)
          .catch((rmErr: unknown) => tx.log.error({ err: rmErr, queueId: queuedId }, 'unqueue failed'));
      const reply = smtpReplyForError(err);
      tx.log.error({ err, reply: reply.message, code: reply.responseCode }, 'delivery failed');
      throw reply;
    }
  }

  return createSmtpListener({
    serverOptions,
    idleTimeoutMs,
    ...(options.minDataRate !== undefined ? { minDataRate: options.minDataRate } : {}),
    ...(options.dataRateGraceMs !== undefined ? { dataRateGraceMs: options.dataRateGraceMs } : {}),
    log,
    sessionLog,
    listening: 'submission listening',
    listeningFields: { implicitTls: options.implicitTls === true },
    serverError: 'smtp submission server error',
  });
}
