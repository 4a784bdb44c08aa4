/**
 * DKIM (RFC 6376) for outgoing mail: signing with mailauth, key generation for
 * `yubin dkim generate`, and the DNS TXT record to publish.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';

export interface DkimKey {
  readonly domain: string;
  readonly selector: string;
  /** PEM private key. */
  readonly privateKey: string;
}

/** RFC 8301 §3.2: RSA keys of at least 1024 bits, 2048 recommended. */
export const DKIM_RSA_BITS = 2048;

/**
 * RFC 6376 §5.4 / RFC 6376 §5.4.1: the fields a signature should cover; From is mandatory.
 * Listing Subject etc. once more than they occur also "oversigns" them (§8.15: no field may be
 * added later without breaking the signature).
 */
export const DKIM_SIGNED_HEADERS = [
  'from',
  'sender',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'to',
  'cc',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'in-reply-to',
  'references',
];

/** Prepends a DKIM-Signature (relaxed/relaxed, rsa-sha256) for the key's domain. */
export async function signMessage(message: Buffer, key: DkimKey, now?: Date): Promise<Buffer> {
  const result = await dkimSign(message, {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKey,
    // mailauth signs once per signatureData item; the top-level key fields alone sign nothing.
    signatureData: [{ signingDomain: key.domain, selector: key.selector, privateKey: key.privateKey }],
    canonicalization: 'relaxed/relaxed',
    algorithm: 'rsa-sha256',
    headerList: DKIM_SIGNED_HEADERS,
    ...(now ? { signTime: now } : {}),
  });
  const [error] = result.errors;
  if (error) throw error;
  if (!result.signatures.startsWith('DKIM-Signature:'))
    throw new Error(`no DKIM signature made for ${key.domain}`);
  return Buffer.concat([Buffer.from(result.signatures, 'utf8'), message]);
}

/** A new RSA key pair: the PEM private key and the TXT record value for `<selector>._domainkey.<domain>`. */
export function generateDkimKey(): { privateKey: string; txt: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: DKIM_RSA_BITS,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey, txt: `v=DKIM1; k=rsa; p=${publicKey.toString('base64')}` };
}

/** The zone-file line to publish (RFC 6376 §3.6.2.1: `<selector>._domainkey.<domain>`). */
export function dkimDnsRecord(domain: string, selector: string, txt: string): string {
  // A TXT string is at most 255 octets (RFC 1035 §3.3.14): split the value into quoted chunks.
  const chunks = txt.match(/.{1,255}/g) ?? [txt];
  return `${selector}._domainkey.${domain}. IN TXT ( ${chunks.map((c) => `"${c}"`).join(' ')} )`;
}
