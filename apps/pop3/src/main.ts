import { createPop3Service, runPooledService } from '@yubin/runtime';

// The POP3 process: config, logger, accounts, store and TLS come from runService; with
// `processes.pop3` > 1 this process accepts for a pool of them (@yubin/runtime pool.ts).
await runPooledService('pop3', createPop3Service);
