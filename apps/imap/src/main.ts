import { runService, startImap } from '@yubin/runtime';

// The IMAP process: config, logger, accounts, store and TLS come from runService; the
// wiring of the server to them is shared with the in-process test kit (@yubin/runtime).
await runService('imap', startImap);
