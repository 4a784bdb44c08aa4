/**
 * What every yubin SMTP listener (ingress on 25, submission on 587/465) is around its hooks: an
 * smtp-server behind the slow-client guard, that listens, swaps its certificate and closes.
 */
import type { AddressInfo } from 'node:net';
import { DEFAULT_DATA_RATE_GRACE_MS, DEFAULT_MIN_DATA_RATE, type Log } from '@yubin/core';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SmtpTls } from './ingress.js';
import { protectFromSlowClients } from './slow-client.js';

export interface SmtpListener {
  listen(options: { port: number; host: string }): Promise<AddressInfo>;
  /** Replaces the certificate for new connections. */
  updateTls(tls: SmtpTls): void;
  close(): Promise<void>;
}

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
        server.listen(port, host, () => {
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
    updateTls(tls) {
      server.updateSecureContext({ key: tls.key, cert: tls.cert });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
