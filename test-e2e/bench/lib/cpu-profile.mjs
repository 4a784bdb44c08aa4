/**
 * Preloaded into the yubin service processes by `run.ts --profile` (NODE_OPTIONS=--import=…): Node 20
 * refuses `--cpu-prof` in NODE_OPTIONS, so the profile is taken through the inspector instead and
 * written on exit to $YUBIN_CPU_PROFILE_DIR/<service>-<pid>.cpuprofile (read it with
 * profile-summary.ts, or load it in Chrome DevTools).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const service = /apps\/(smtp|imap|pop3|cli)\/src\/main\.ts/.exec(process.argv.join(' '))?.[1];
const dir = process.env.YUBIN_CPU_PROFILE_DIR;
if (service !== undefined && service !== 'cli' && dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // Same-thread inspector sessions answer synchronously, so this completes inside 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${service}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
