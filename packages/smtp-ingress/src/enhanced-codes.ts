/**
 * `smtp-server` derives the RFC 3463 enhanced status code of an error reply from its basic code
 * alone (550 → 5.1.1, 452 → 4.2.2), but one basic code covers several causes: a relay refusal is
 * `550 5.7.1`, an unknown user `550 5.1.1`; a full disk `452 4.3.1`, a full mailbox `452 4.2.2`.
 * Errors raised by this package therefore carry their enhanced code, and this wrapper around
 * `SMTPConnection#send` writes it instead of the derived one. The exact replies are asserted by the
 * transcript tests, so a library upgrade that changes `send` cannot slip through.
 */
import type { Socket } from 'node:net';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/** An error an smtp-server hook answers with: `<responseCode> <enhancedCode> <message>`. */
export class SmtpReplyError extends Error {
  constructor(
    readonly responseCode: number,
    readonly enhancedCode: string,
    text: string,
  ) {
    super(`${enhancedCode} ${text}`);
  }
}

const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;
const PATCHED = Symbol.for('yubin.smtp.enhancedCodes');

type SendFn = (code: number, data: unknown, context?: unknown) => void;

interface Connection {
  readonly _socket?: Socket;
  readonly _upgrading?: boolean;
}

/**
 * RFC 2920 §3.2: replies to pipelined commands may go out together. smtp-server writes each one
 * with its own write(2) (the MAIL, RCPT and DATA of a pipelined message are three); the replies of
 * one turn of the event loop are corked into one. Not the greeting, the STARTTLS go-ahead or a
 * closing reply (220, 221, 421): those must leave at once, before the socket changes hands.
 */
function coalesce(connection: Connection, code: number): void {
  const socket = connection._socket;
  if (socket === undefined || connection._upgrading || code === 220 || code === 221 || code === 421) return;
  if (socket.destroyed || socket.writableCorked > 0) return;
  socket.cork();
  process.nextTick(() => {
    if (socket.writableCorked > 0) socket.uncork();
  });
}

export function installEnhancedCodeOverride(): void {
  const proto = SMTPConnection.prototype as unknown as Record<PropertyKey, unknown> & { send: SendFn };
  if (proto[PATCHED]) return;
  const original = proto.send;
  proto.send = function send(this: unknown, code: number, data: unknown, context?: unknown): void {
    coalesce(this as Connection, code);
    // The message already starts with its enhanced code: don't let the library add a second one.
    if (typeof data === 'string' && ENHANCED_PREFIX.test(data) && context === undefined) {
      const useEnhanced = (this as { _useEnhancedStatusCodes(): boolean })._useEnhancedStatusCodes();
      original.call(this, code, useEnhanced ? data : data.replace(ENHANCED_PREFIX, ''), false);
      return;
    }
    original.call(this, code, data, context);
  };
  proto[PATCHED] = true;
}
