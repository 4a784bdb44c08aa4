import { runService, startPop3 } from '@yubin/runtime';

// The POP3 process: config, logger, accounts, store and TLS come from runService; the
// wiring of the server to them is shared with the in-process test kit (@yubin/runtime).
await runService('pop3', startPop3);
