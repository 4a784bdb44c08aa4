import { newTraceId } from '@yubin/logger';
import type { RunningService, ServiceContext } from '@yubin/runtime';
import { createSmtpIngress } from '@yubin/smtp-ingress';

/** Wires SMTP ingress to config, accounts and the Maildir store. */
export async function start(ctx: ServiceContext): Promise<RunningService> {
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
