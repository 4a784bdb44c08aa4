/**
 * @yubin/pop3-server: a POP3 engine (RFC 1939, RFC 2449, RFC 2595, RFC 3206, RFC 5034) over the
 * core `MailStore` interface. It knows nothing of Maildir.
 */
export { DotStuffer, dotStuff } from './multiline.js';
export {
  type FramedLine,
  LineFramer,
  MAX_POP3_ARGUMENT,
  MAX_POP3_COMMAND_LINE,
  MAX_POP3_NAME,
  MAX_SASL_RESPONSE_LINE,
  maskCommandLine,
  type ParseResult,
  type Pop3Command,
  type Pop3Verb,
  parseCommand,
} from './parser.js';
export { storeErrorReply } from './replies.js';
export {
  createPop3Server,
  MAX_AUTH_FAILURES,
  MAX_BAD_COMMANDS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_ADDRESS,
  MAX_PIPELINED_LINES,
  POP3_AUTOLOGOUT_MS,
  type Pop3Limits,
  type Pop3Server,
  type Pop3ServerOptions,
} from './server.js';
export { WHOLE_MESSAGE_MAX } from './session.js';
