import { readFile } from 'node:fs/promises';
import { newTraceId } from '@yubin/logger';
import {
  createDnsResolver,
  createQueueRunner,
  type DkimKey,
  mailauthResolver,
  openQueue,
} from '@yubin/outbound';
import type { RunningService, ServiceContext } from '@yubin/runtime';
import { createSmtpIngress } from '@yubin/smtp-ingress';
import { createSmtpSubmission } from '@yubin/smtp-submission';

/**
 * Wires the SMTP process: ingress (MX, with SPF/DKIM/DMARC checks), submission with STARTTLS and
 * over implicit TLS, and the outbound queue runner — all on config, accounts and the Maildir store.
 */
export async function start(ctx: ServiceContext): Promise<RunningService> {
  const { config } = ctx;
  const dns = createDnsResolver({
    timeoutMs: config.inbound.dnsTimeoutMs,
    records: config.dns.records,
    offline: config.dns.offline,
  });
  const dkimKeys = new Map<string, DkimKey>();
  for (const [domain, { selector, key }] of Object.entries(config.dkim)) {
    let privateKey: string;
    try {
      privateKey = await readFile(key, 'utf8');
    } catch (err) {
      throw new Error(`dkim.${domain}.key=${key}: cannot read the private key (${String(err)})`);
    }
    dkimKeys.set(domain, { domain, selector, privateKey });
  }

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
    authChecks: { resolver: mailauthResolver(dns), dmarcPolicy: config.inbound.dmarcPolicy },
  });

  const queue = await openQueue(config.paths.queue);
  const runner = createQueueRunner({
    queue,
    log: ctx.log,
    hostname: config.hostname,
    dns,
    transportMap: config.outbound.transportMap,
    store: ctx.store,
    resolver: ctx.resolver,
    retryDelaysMs: config.outbound.retryDelaysMs,
    maxLifetimeMs: config.outbound.maxLifetimeMs,
  });
  const submissionOptions = {
    store: ctx.store,
    resolver: ctx.resolver,
    authenticator: ctx.authenticator,
    queue,
    log: ctx.log,
    hostname: config.hostname,
    tls: ctx.tls.material(),
    dkimKey: (domain: string) => dkimKeys.get(domain),
    onQueued: () => runner.kick(),
    allowPlaintextAuth: config.auth.allowPlaintextAuth,
    maxMessageSize: config.limits.maxMessageSize,
    maxRecipients: config.limits.maxRecipients,
    maxConnections: config.limits.maxConnections,
    idleTimeoutMs: config.limits.smtpIdleTimeoutMs,
    transcript: config.log.transcript,
    newTraceId,
  };
  const submission = createSmtpSubmission(submissionOptions);
  const submissions = createSmtpSubmission({ ...submissionOptions, implicitTls: true });
  ctx.tls.onReload((material) => {
    ingress.updateTls(material);
    submission.updateTls(material);
    submissions.updateTls(material);
  });
  const smtp = await ingress.listen({ port: config.ports.smtp, host: config.bind });
  const sub = await submission.listen({ port: config.ports.submission, host: config.bind });
  const subs = await submissions.listen({ port: config.ports.submissions, host: config.bind });
  await runner.start();
  return {
    listening: [
      { name: 'SMTP', host: smtp.address, port: smtp.port, tls: 'starttls' },
      { name: 'SUBMISSION', host: sub.address, port: sub.port, tls: 'starttls' },
      { name: 'SUBMISSIONS', host: subs.address, port: subs.port, tls: 'implicit' },
    ],
    async close() {
      await Promise.all([ingress.close(), submission.close(), submissions.close()]);
      await runner.stop();
    },
  };
}
