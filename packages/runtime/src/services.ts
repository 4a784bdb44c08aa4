/**
 * The three servers wired to a `ServiceContext`: what each app process runs (apps/<svc>/src/main.ts)
 * and what `@yubin/testing` runs in-process — one copy, so the test kit serves exactly what
 * production serves.
 */
import { readFile } from 'node:fs/promises';
import { newTraceId } from '@yubin/logger';
import type { DkimKey } from '@yubin/outbound';
import { type Endpoint, listenAll, type PoolableService, type PoolRole, type SocketServer } from './pool.js';
import type { RunningService, ServiceContext } from './service.js';

/**
 * The SMTP process: ingress (MX, STARTTLS, SPF/DKIM/DMARC checks) on `config.ports.smtp`, RFC 6409
 * submission with STARTTLS on `config.ports.submission` and over implicit TLS (RFC 8314) on
 * `config.ports.submissions`, and the outbound queue runner for `config.paths.queue`; not yet listening.
 */
export async function createSmtpService(
  ctx: ServiceContext,
  role: PoolRole = 'first',
): Promise<PoolableService> {
  const { config } = ctx;
  // Each service loads its own server's packages when it starts, not with this module: an IMAP or
  // POP3 process has no use for SMTP's SPF/DKIM/DMARC stack and the outbound queue (about 50 MiB of
  // memory and a second of start-up CPU per process when they were loaded everywhere).
  const [
    { createDnsResolver, createQueueRunner, mailauthResolver, openQueue },
    { createSmtpIngress },
    { createSmtpSubmission },
  ] = await Promise.all([
    import('@yubin/outbound'),
    import('@yubin/smtp-ingress'),
    import('@yubin/smtp-submission'),
  ]);
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
    minDataRate: config.limits.minDataRate,
    dataRateGraceMs: config.limits.dataRateGraceMs,
    transcript: config.log.transcript,
    newTraceId,
    authChecks: {
      resolver: mailauthResolver(dns),
      dmarcPolicy: config.inbound.dmarcPolicy,
      checkLoopback: config.inbound.checkLoopback,
    },
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
    maxConnectionsPerAddress: config.limits.maxConnectionsPerAddress,
    idleTimeoutMs: config.limits.smtpIdleTimeoutMs,
    minDataRate: config.limits.minDataRate,
    dataRateGraceMs: config.limits.dataRateGraceMs,
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
  // The queue runner, and so submission (whose new messages kick it), live in the pool's first
  // process only; the other processes take inbound mail (port 25), the bulk of the connections.
  if (role === 'first') await runner.start();
  // Acknowledged deliveries a crashed predecessor left in tmp/ (maildir tmp-files.ts), in the
  // background: every SMTP process, since any of them may have been the one that crashed.
  void ctx.accounts
    .listUsers()
    .then((users) => ctx.store.recover(users.map((u) => u.address)))
    .catch((err: unknown) => ctx.log.warn({ err }, 'delivery recovery failed'));
  return {
    endpoints: [
      { name: 'SMTP', port: config.ports.smtp, tls: 'starttls', server: ingress },
      {
        name: 'SUBMISSION',
        port: config.ports.submission,
        tls: 'starttls',
        server: submission,
        firstProcessOnly: true,
      },
      {
        name: 'SUBMISSIONS',
        port: config.ports.submissions,
        tls: 'implicit',
        server: submissions,
        firstProcessOnly: true,
      },
    ],
    async close() {
      await Promise.all([ingress.close(), submission.close(), submissions.close()]);
      if (role === 'first') await runner.stop();
    },
  };
}

/** SMTP in this process alone (the test kit; `apps/smtp` runs it through the process pool). */
export async function startSmtp(ctx: ServiceContext): Promise<RunningService> {
  return startAlone(await createSmtpService(ctx), ctx);
}

/** POP3 (with STLS) on `config.ports.pop3` and POP3S on `config.ports.pop3s`, not yet listening. */
export async function createPop3Service(ctx: ServiceContext): Promise<PoolableService> {
  const { config } = ctx;
  const { createPop3Server } = await import('@yubin/pop3-server');
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
  return {
    endpoints: bothPorts(server, 'POP3', config.ports.pop3, config.ports.pop3s),
    close: () => server.close(),
  };
}

/** IMAP (with STARTTLS) on `config.ports.imap` and IMAPS on `config.ports.imaps`, not yet listening. */
export async function createImapService(ctx: ServiceContext): Promise<PoolableService> {
  const { config } = ctx;
  const { createImapServer } = await import('@yubin/imap-server');
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
      preauthTimeoutMs: config.limits.imapPreauthTimeoutMs,
      minDataRate: config.limits.minDataRate,
      dataRateGraceMs: config.limits.dataRateGraceMs,
    },
    transcript: config.log.transcript,
  });
  return {
    endpoints: bothPorts(server, 'IMAP', config.ports.imap, config.ports.imaps),
    close: () => server.close(),
  };
}

/** The plaintext port (upgradable with STARTTLS/STLS) and the implicit-TLS one (RFC 8314 §3.3). */
function bothPorts(
  server: SocketServer,
  name: 'POP3' | 'IMAP',
  plainPort: number,
  securePort: number,
): Endpoint[] {
  return [
    { name, port: plainPort, tls: 'starttls', server },
    { name: `${name}S`, port: securePort, tls: 'implicit', server },
  ];
}

/** POP3 in this process alone (the test kit; `apps/pop3` runs it through the process pool). */
export async function startPop3(ctx: ServiceContext): Promise<RunningService> {
  return startAlone(await createPop3Service(ctx), ctx);
}

/** IMAP in this process alone (the test kit; `apps/imap` runs it through the process pool). */
export async function startImap(ctx: ServiceContext): Promise<RunningService> {
  return startAlone(await createImapService(ctx), ctx);
}

async function startAlone(service: PoolableService, ctx: ServiceContext): Promise<RunningService> {
  return { listening: await listenAll(service, ctx.config.bind), close: () => service.close() };
}
