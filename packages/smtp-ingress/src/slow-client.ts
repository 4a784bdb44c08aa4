/**
 * Slow-client ("slowloris") protection for servers built on `smtp-server`, after Postfix's
 * `smtpd_per_record_deadline` and `smtpd_min_data_rate`. smtp-server's `socketTimeout` is an
 * inactivity timer that every received byte resets, so a client dribbling one byte a minute of a
 * command line, or of a DATA body, would hold its connection forever. Here a `SlowClientGuard` per
 * session watches the session's socket and the hooks:
 *
 * - the wait for a command line restarts only when a line completes or we answer, so a started
 *   line must be complete within the timeout (RFC 5321 §4.5.3.2.7: at least 5 minutes);
 * - the DATA body (from `onData` until the stream ends) must keep the minimum average rate;
 * - while a hook runs (DNS look-ups, delivery) the client waits for us and no deadline runs.
 *
 * A session found too slow gets `421 4.4.2` (RFC 3463: X.4.2 "bad connection"; RFC 5321 §3.8: a
 * server closing the transmission channel sends 421) and is closed. The socket is watched through
 * public smtp-server seams: `onConnect` (the connection in `server.connections`, its socket) and
 * `onSecure` (the TLS socket after STARTTLS or the implicit handshake); nothing is patched.
 *
 * The same watch holds back the replies to a pipelined group (RFC 2920 §3.2: a server SHOULD buffer
 * its responses to grouped commands and send them as a unit, and MUST send what is pending once its
 * input buffer is empty): the socket is corked as a command chunk arrives, ahead of the parser, and
 * uncorked once the event loop has run what that chunk started, so MAIL, RCPT and DATA answered in
 * one turn leave in one write(2) instead of three (a loopback write costs about what a small
 * fsync'd append does). A plaintext chunk that carries STARTTLS is not held: its `220` must reach
 * the socket before TLS takes the socket over.
 */
import type net from 'node:net';
import { type Log, SlowClientGuard, type SlowClientLimits, type SlowClientVerdict } from '@yubin/core';
import type {
  SMTPServer,
  SMTPServerDataResult,
  SMTPServerDataStream,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';

interface Watch {
  readonly guard: SlowClientGuard;
  socket: net.Socket | null;
  readonly onData: (chunk: Buffer) => void;
  /** Runs before the parser sees a chunk: holds the replies it will cause (see above). */
  readonly onArrival: (chunk: Buffer) => void;
  /** The socket is corked until the current event-loop turn is over. */
  corked: boolean;
}

/** Chunks larger than this are message data, not a group of commands: nothing to hold. */
const COMMAND_CHUNK_MAX = 4096;
const STARTTLS = /starttls/i;

export interface SlowClientProtection {
  /** The server options with their hooks wrapped; pass them to `new SMTPServer()`. */
  readonly options: SMTPServerOptions;
  /** Binds to the server built from `options` (and bounds its implicit-TLS handshakes). */
  attach(server: SMTPServer): void;
}

type Done = (err?: Error | null) => void;

/**
 * Wraps the hooks of `options` so that every session is guarded with `limits`. `recordTimeoutMs`
 * should equal the server's `socketTimeout`, which stays as a backstop.
 */
export function protectFromSlowClients(
  options: SMTPServerOptions,
  limits: SlowClientLimits,
  sessionLog: (session: { readonly id: string }) => Log,
): SlowClientProtection {
  const watches = new Map<string, Watch>();
  let server: SMTPServer | undefined;
  const hostname = options.name ?? 'localhost';

  const expire = (session: SMTPServerSession, verdict: SlowClientVerdict) => {
    const connection = findConnection(session);
    sessionLog(session).info(verdict, 'slow client dropped');
    const why = verdict.reason === 'data-rate' ? ', message data arriving too slowly' : '';
    // Context `false`: the text carries its enhanced code; send(421) also closes the connection.
    connection?.send(421, `4.4.2 ${hostname} Error: timeout exceeded${why}`, false);
  };

  const findConnection = (session: SMTPServerSession) => {
    if (server === undefined) return undefined;
    for (const c of server.connections) if (c.id === session.id) return c;
    return undefined;
  };

  /** Corks the watched socket until the loop has run the commands that just arrived (see above). */
  const holdReplies = (w: Watch, chunk: Buffer) => {
    const socket = w.socket;
    if (w.corked || socket === null || chunk.length > COMMAND_CHUNK_MAX) return;
    if (!('encrypted' in socket) && STARTTLS.test(chunk.toString('latin1'))) return;
    w.corked = true;
    socket.cork();
    setImmediate(() => {
      w.corked = false;
      // A socket ended or destroyed meanwhile has flushed or dropped its data already.
      if (socket.writableCorked > 0) socket.uncork();
    });
  };

  const watch = (session: SMTPServerSession, socket: net.Socket) => {
    const w = watches.get(session.id);
    if (w === undefined || w.socket === socket) return;
    w.socket?.off('data', w.onData);
    w.socket?.off('data', w.onArrival);
    w.socket = socket;
    socket.on('data', w.onData);
    // Prepended: an EventEmitter method, so unlike on('data') it does not change the flow mode.
    socket.prependListener('data', w.onArrival);
  };

  /** The session's guard, if it is still watched. */
  const guardOf = (session: SMTPServerSession) => watches.get(session.id)?.guard;
  /** `done` wrapped so that the hook's answer restarts the wait for the next command. */
  const answering = <A extends unknown[]>(
    session: SMTPServerSession,
    done: (err?: Error | null, ...rest: A) => void,
  ) => {
    guardOf(session)?.busy();
    return (err?: Error | null, ...rest: A) => {
      guardOf(session)?.awaitRecord();
      done(err, ...rest);
    };
  };

  const wrapped: SMTPServerOptions = {
    ...options,

    onConnect(session, callback) {
      const guard = new SlowClientGuard(limits, (verdict) => expire(session, verdict));
      const w: Watch = {
        guard,
        socket: null,
        corked: false,
        onData: (chunk) => guard.receivedChunk(chunk),
        onArrival: (chunk) => holdReplies(w, chunk),
      };
      watches.set(session.id, w);
      // The plain socket (or the TLS one of an implicit-TLS listener) is already piped into the
      // parser, so a 'data' listener changes nothing about its flow.
      const socket = findConnection(session)?._socket;
      if (socket !== undefined) watch(session, socket);
      const done = answering(session, callback);
      if (options.onConnect === undefined) done();
      else options.onConnect(session, done);
    },

    onSecure(socket, session, callback) {
      const done: Done = (err) => {
        callback(err);
        // After the callback: smtp-server pipes the TLS socket into its parser right there, and a
        // 'data' listener added before that could take bytes the parser never sees.
        watch(session, socket);
        // RFC 3207 §4.2: the session starts afresh; the handshake was the record awaited.
        guardOf(session)?.awaitRecord();
      };
      guardOf(session)?.busy();
      if (options.onSecure === undefined) done();
      else options.onSecure(socket, session, done);
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const guard = guardOf(session);
      // From the 354 on, the body must keep the minimum rate; once it has ended we owe the reply.
      guard?.beginData();
      stream.once('end', () => guard?.busy());
      const done = (err?: Error | null, message?: string | SMTPServerDataResult[]) => {
        guard?.awaitRecord();
        callback(err, message);
      };
      if (options.onData !== undefined) {
        options.onData(stream, session, done);
        return;
      }
      stream.resume();
      stream.once('end', () => done());
    },

    onClose(session, callback) {
      const w = watches.get(session.id);
      if (w !== undefined) {
        w.guard.stop();
        w.socket?.off('data', w.onData);
        w.socket?.off('data', w.onArrival);
        watches.delete(session.id);
      }
      options.onClose?.(session, callback);
    },
  };
  // The other hooks only where the caller has them (smtp-server's defaults stay otherwise).
  const { onAuth, onMailFrom, onRcptTo } = options;
  if (onAuth !== undefined)
    wrapped.onAuth = (auth, session, callback) =>
      onAuth.call(options, auth, session, answering(session, callback));
  if (onMailFrom !== undefined)
    wrapped.onMailFrom = (address, session, callback) =>
      onMailFrom.call(options, address, session, answering(session, callback));
  if (onRcptTo !== undefined)
    wrapped.onRcptTo = (address, session, callback) =>
      onRcptTo.call(options, address, session, answering(session, callback));

  return {
    options: wrapped,
    attach(s) {
      server = s;
      if (!options.secure) return;
      // An implicit-TLS handshake is one record: it gets one record's time, however it is
      // dribbled. smtp-server only arms an inactivity timer on the accepted socket (which TLS
      // reads happen not to refresh in Node today); this deadline does not depend on that. Tear
      // down the socket on top (the TLS one), never the one beneath a handshake in progress.
      s.server.on('connection', (raw: net.Socket) => {
        const timer = setTimeout(() => {
          const top = s._pendingSockets.get(raw);
          if (top === undefined) return;
          s.logger.info({ tnx: 'connection', host: raw.remoteAddress }, 'tls handshake timeout');
          top.destroy();
        }, limits.recordTimeoutMs);
        timer.unref();
        raw.once('close', () => clearTimeout(timer));
      });
    },
  };
}
