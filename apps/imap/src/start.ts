import { createImapServer } from '@yubin/imap-server';
import type { Listening, RunningService, ServiceContext } from '@yubin/runtime';

/** Wires the IMAP engine to config, accounts and the Maildir store: IMAP (with STARTTLS) and IMAPS. */
export async function start(ctx: ServiceContext): Promise<RunningService> {
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
  const plain = await server.listen({ port: config.ports.imap, host: config.bind });
  const secure = await server.listen({ port: config.ports.imaps, host: config.bind, implicitTls: true });
  const listening: Listening[] = [
    { name: 'IMAP', host: plain.address, port: plain.port, tls: 'starttls' },
    { name: 'IMAPS', host: secure.address, port: secure.port, tls: 'implicit' },
  ];
  return { listening, close: () => server.close() };
}
