import { runService, startSmtp } from '@yubin/runtime';

// The SMTP process: config, logger, accounts, store and TLS come from runService; the
// wiring of the server to them is shared with the in-process test kit (@yubin/runtime).
await runService('smtp', startSmtp);
