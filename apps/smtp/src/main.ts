import { createSmtpService, runPooledService } from '@yubin/runtime';

// The SMTP process: config, logger, accounts, store and TLS come from runService; with
// `processes.smtp` > 1 this process accepts for a pool of them (@yubin/runtime pool.ts), and
// keeps submission and the outbound queue runner to itself.
await runPooledService('smtp', createSmtpService);
