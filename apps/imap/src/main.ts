import { createImapService, runPooledService } from '@yubin/runtime';

// The IMAP process: config, logger, accounts, store and TLS come from runService; with
// `processes.imap` > 1 this process accepts for a pool of them (@yubin/runtime pool.ts).
await runPooledService('imap', createImapService);
