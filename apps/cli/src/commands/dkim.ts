/**
 * `yubin dkim generate DOMAIN [--selector S] [--force]`: makes a DKIM key (RFC 6376) in the data
 * folder and prints the DNS records to publish — DKIM, and the SPF (RFC 7208) and DMARC (RFC 7489)
 * records that go with it — and the config lines that enable signing.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '@yubin/config';
import { dkimDnsRecord, generateDkimKey } from '@yubin/outbound';
import { UsageError } from './admin.js';

const SELECTOR_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i;
const DOMAIN_RE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

export async function dkimCommand(config: Config, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { selector: { type: 'string' }, force: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [verb, rawDomain] = positionals;
  if (verb !== 'generate') throw new UsageError('dkim: the only command is `dkim generate DOMAIN`');
  const domain = rawDomain?.toLowerCase().replace(/\.$/, '');
  if (!domain || !DOMAIN_RE.test(domain)) throw new UsageError('dkim generate: give a domain name');
  const selector = values.selector ?? 'yubin';
  if (!SELECTOR_RE.test(selector)) throw new UsageError(`dkim generate: bad selector '${selector}'`);
  const { privateKey, txt } = generateDkimKey();
  await mkdir(config.paths.dkim, { recursive: true, mode: 0o700 });
  const file = join(config.paths.dkim, `${domain}.${selector}.pem`);
  try {
    await writeFile(file, privateKey, { mode: 0o600, flag: values.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(`${file} exists; use another --selector (key rotation) or --force`);
    throw err;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`DKIM key for ${domain} (selector ${selector}) written to ${file}`);
  out('');
  out('Publish in DNS (RFC 6376 §3.6.2):');
  out(`  ${dkimDnsRecord(domain, selector, txt)}`);
  out('');
  out('and, if not done yet, SPF (RFC 7208) and DMARC (RFC 7489):');
  out(`  ${domain}. IN TXT "v=spf1 mx -all"`);
  out(`  _dmarc.${domain}. IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}"`);
  out('');
  out('Then sign with it (yubin.config.yaml), and restart the SMTP service:');
  out('  dkim:');
  out(`    ${domain}: { selector: ${selector}, key: ${file} }`);
  out('');
  out(`TXT value: ${txt}`);
  return 0;
}
