/**
 * The three servers wired to a `ServiceContext`: what each app process runs (apps/<svc>/src/main.ts)
 * and what `@yubin/testing` runs in-process — one copy, so the test kit serves exactly what
 * production serves.
 */
import { createImapServer } from '@yubin/imap-server';
import { newTraceId } from '@yubin/logger';
import { createPop3Server } from '@yubin/pop3-server';
import { createSmtpIngress } from '@yubin/smtp-ingress';
import type { Listening, RunningService, ServiceContext } from './service.js';

/** SMTP ingress (with STARTTLS) on `config.ports.smtp`. */
export async function startSmtp(ctx: ServiceContext): Promise<RunningService> {
  const { config } = ctx;
  const ingress = createSmtpIngress({
    store: ctx.store,
    resolver: ctx.resolver,
    log: ctx.log,
    hostname: config.hostname,
    tls: ctx.tls.material(),
    maxMessageSize: config.limits.maxMessageSize,
    maxRecipients: config.limits.maxRecipients,
    maxConnections: config.limits.maxConnections,
    maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress,
    idleTimeoutMs: config.limits.smtpIdleTimeoutMs,
    transcript: config.log.transcript,
    newTraceId,
  });
  ctx.tls.onReload((material) => ingress.updateTls(material));
  const address = await ingress.listen({ port: config.ports.smtp, host: config.bind });
  return {
    listening: [{ name: 'SMTP', host: address.address, port: address.port, tls: 'starttls' }],
    close: () => ingress.close(),
  };
}

/** POP3 (with STLS) on `config.ports.pop3` and POP3S on `config.ports.pop3s`. */
export async function startPop3(ctx: ServiceContext): Promise<RunningService> {
  const { config } = ctx;
  const server = createPop3Server({
    store: ctx.store,
    authenticator: ctx.authenticator,
    log: ctx.log,
    hostname: config.hostname,
    tls: () => ctx.tls.context(),
    allowPlaintextAuth: config.auth.allowPlaintextAuth,
    limits: {
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress,
      idleTimeoutMs: config.limits.pop3IdleTimeoutMs,
    },
    transcript: config.log.transcript,
  });
  return listenBoth(server, ctx, 'POP3', config.ports.pop3, config.ports.pop3s);
}

/** IMAP (with STARTTLS) on `config.ports.imap` and IMAPS on `config.ports.imaps`. */
export async function startImap(ctx: ServiceContext): Promise<RunningService> {
  const { config } = ctx;
  const server = createImapServer({
    store: ctx.store,
    authenticator: ctx.authenticator,
    log: ctx.log,
    hostname: config.hostname,
    tls: () => ctx.tls.context(),
    allowPlaintextAuth: config.auth.allowPlaintextAuth,
    limits: {
      maxConnections: config.limits.maxConnections,
      maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress,
      maxLineLength: config.limits.maxLineLength,
      maxLiteralSize: config.limits.maxLiteralSize,
      appendLimit: config.limits.maxMessageSize,
      idleTimeoutMs: config.limits.imapIdleTimeoutMs,
    },
    transcript: config.log.transcript,
  });
  return listenBoth(server, ctx, 'IMAP', config.ports.imap, config.ports.imaps);
}

interface TwoPortServer {
  listen(options: {
    port: number;
    host: string;
    implicitTls?: boolean;
  }): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** The plaintext port (upgradable with STARTTLS/STLS) and the implicit-TLS one (RFC 8314 §3.3). */
async function listenBoth(
  server: TwoPortServer,
  ctx: ServiceContext,
  name: 'POP3' | 'IMAP',
  plainPort: number,
  securePort: number,
): Promise<RunningService> {
  try {
    const plain = await server.listen({ port: plainPort, host: ctx.config.bind });
    const secure = await server.listen({ port: securePort, host: ctx.config.bind, implicitTls: true });
    const listening: Listening[] = [
      { name, host: plain.address, port: plain.port, tls: 'starttls' },
      { name: `${name}S`, host: secure.address, port: secure.port, tls: 'implicit' },
    ];
    return { listening, close: () => server.close() };
  } catch (err) {
    await server.close();
    throw err;
  }
}
