import { createPop3Server } from '@yubin/pop3-server';
import type { Listening, RunningService, ServiceContext } from '@yubin/runtime';

/** Wires the POP3 engine to config, accounts and the Maildir store: POP3 (with STLS) and POP3S. */
export async function start(ctx: ServiceContext): Promise<RunningService> {
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
  const plain = await server.listen({ port: config.ports.pop3, host: config.bind });
  const secure = await server.listen({ port: config.ports.pop3s, host: config.bind, implicitTls: true });
  const listening: Listening[] = [
    { name: 'POP3', host: plain.address, port: plain.port, tls: 'starttls' },
    { name: 'POP3S', host: secure.address, port: secure.port, tls: 'implicit' },
  ];
  return { listening, close: () => server.close() };
}
