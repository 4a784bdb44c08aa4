/**
 * What every yubin SMTP listener (ingress on 25, submission on 587/465) is around its hooks: an
 * smtp-server behind the slow-client guard, that listens, swaps its certificate and closes.
 */
import type { AddressInfo, Socket } from 'node:net';
import { DEFAULT_DATA_RATE_GRACE_MS, DEFAULT_MIN_DATA_RATE, type Log, listenBacklog } from '@yubin/core';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SmtpTls } from './ingress.js';
import { protectFromSlowClients } from './slow-client.js';

export interface SmtpListener {
  listen(options: { port: number; host: string }): Promise<AddressInfo>;
  /**
   * Serves a connection accepted elsewhere (the first process of a pool hands sockets to the
   * others). `refuse`: the pool is at a connection limit, so the client gets a 421 greeting
   * (RFC 5321 §3.8) and the connection closes; over implicit TLS nothing can be said before the
   * handshake, so it just closes.
   */
  accept(socket: Socket, options?: { refuse?: boolean }): void;
  /** Replaces the certificate for new connections. */
  updateTls(tls: SmtpTls): void;
  close(): Promise<void>;
}

/** How long a refused connection may take to read its 421. */
const REFUSE_LINGER_MS = 2_000;

export interface SmtpListenerOptions {
  readonly serverOptions: SMTPServerOptions;
  /** The per-record deadline (the idle timeout) and the DATA rate rules of the slow-client guard. */
  readonly idleTimeoutMs: number;
  readonly minDataRate?: number;
  readonly dataRateGraceMs?: number;
  readonly log: Log;
  readonly sessionLog: (session: { readonly id: string }) => Log;
  /** Log message when listening (`smtp listening`), and extra fields for it. */
  readonly listening: string;
  readonly listeningFields?: Readonly<Record<string, unknown>>;
  /** Log message for a server-level error. */
  readonly serverError: string;
}

export function createSmtpListener(options: SmtpListenerOptions): SmtpListener {
  const { log } = options;
  const protection = protectFromSlowClients(
    options.serverOptions,
    {
      recordTimeoutMs: options.idleTimeoutMs,
      minDataRate: options.minDataRate ?? DEFAULT_MIN_DATA_RATE,
      dataRateGraceMs: options.dataRateGraceMs ?? DEFAULT_DATA_RATE_GRACE_MS,
    },
    options.sessionLog,
  );
  const server = new SMTPServer(protection.options);
  protection.attach(server);
  server.on('error', (err: Error) => log.error({ err }, options.serverError));
  return {
    listen({ port, host }) {
      return new Promise<AddressInfo>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.server.once('error', onError);
        const backlog = listenBacklog(options.serverOptions.maxClients ?? 0);
        server.listen({ port, host, backlog }, () => {
          server.server.off('error', onError);
          const address = server.server.address() as AddressInfo;
          log.info(
            { host: address.address, port: address.port, ...options.listeningFields },
            options.listening,
          );
          resolve(address);
        });
      });
    },
    accept(socket, { refuse = false } = {}) {
      if (!refuse) {
        // smtp-server's own connection handler (it does the implicit-TLS handshake itself).
        server.server.emit('connection', socket);
        return;
      }
      socket.on('error', () => {});
      log.warn({ remote: socket.remoteAddress }, 'connection refused: too many connections');
      if (options.serverOptions.secure) {
        socket.destroy();
        return;
      }
      socket.end(
        `421 4.7.0 ${options.serverOptions.name ?? 'localhost'} Too many connections, try again later\r\n`,
      );
      setTimeout(() => socket.destroy(), REFUSE_LINGER_MS).unref();
    },
    updateTls(tls) {
      server.updateSecureContext({ key: tls.key, cert: tls.cert });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
