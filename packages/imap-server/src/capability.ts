/** What the server announces in CAPABILITY (RFC 3501 §6.1.1, §7.2.1), by connection state. */

export interface CapabilityContext {
  /** The connection is TLS-protected. */
  readonly secure: boolean;
  /** A TLS context is configured, so STARTTLS can be offered on a plaintext connection. */
  readonly tlsAvailable: boolean;
  /** LOGIN / AUTHENTICATE are allowed on this connection (TLS, loopback, or configured so). */
  readonly authAllowed: boolean;
  readonly authenticated: boolean;
  readonly appendLimit: number;
}

/** Extensions implemented in every state, in the order they are announced. */
const EXTENSIONS = [
  'LITERAL+', // RFC 7888
  'SASL-IR', // RFC 4959
  'ID', // RFC 2971
  'ENABLE', // RFC 5161
  'IDLE', // RFC 2177
  'NAMESPACE', // RFC 2342
  'UIDPLUS', // RFC 4315
  'MOVE', // RFC 6851
  'UNSELECT', // RFC 3691
  'CHILDREN', // RFC 3348
  'SPECIAL-USE', // RFC 6154
  'LIST-EXTENDED', // RFC 5258
  'LIST-STATUS', // RFC 5819
];

/** The capability list, without the `CAPABILITY` keyword. */
export function capabilities(c: CapabilityContext): string[] {
  const caps = ['IMAP4rev1', ...EXTENSIONS, `APPENDLIMIT=${c.appendLimit}`];
  if (!c.authenticated) {
    // RFC 3501 §6.2.1: STARTTLS only on a connection that is not yet protected.
    if (c.tlsAvailable && !c.secure) caps.push('STARTTLS');
    // RFC 3501 §6.2.3, §7.2.1: LOGINDISABLED where plaintext authentication is not allowed;
    // RFC 4959 / RFC 4616: AUTH=PLAIN only where it may be used.
    if (c.authAllowed) caps.push('AUTH=PLAIN');
    else caps.push('LOGINDISABLED');
  }
  return caps;
}
