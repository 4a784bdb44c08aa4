/**
 * The pure IMAP protocol layer (STYLE.md §3.1): the command reader, argument grammars and the
 * response serializer. No socket, store or logger here.
 */
export {
  Args,
  canonicalFlag,
  decodeMailbox,
  dedupeFlags,
  isAstringAtom,
  isAtom,
  MAX_NUMBER,
  type MailboxOptions,
  tokenAstring,
  utf8,
} from './args.js';
export {
  type AppendCommand,
  type AppendMessage,
  decodeBase64,
  type ListCommand,
  type ListSelectOption,
  MAX_ID_PAIRS,
  parseAppend,
  parseAuthenticate,
  parseCopy,
  parseEnable,
  parseId,
  parseList,
  parseLogin,
  parseLsub,
  parseMailboxArg,
  parseRename,
  parseSelect,
  parseStatus,
  type StatusItem,
} from './commands.js';
export { compareImapDate, formatDateTime, MONTHS, parseDate, parseDateTime, toImapDate } from './dates.js';
export {
  type FetchCommand,
  type FetchItem,
  fetchResponseName,
  type Partial,
  parseFetch,
  parseFetchItems,
  parseSection,
  type Section,
  type SectionText,
  sectionName,
} from './fetch.js';
export { mailboxMatcher } from './match.js';
export { CommandReader, isAtomChar } from './reader.js';
export {
  MAX_SEARCH_DEPTH,
  parseSearch,
  SEARCH_CHARSETS,
  type SearchCommand,
  type SearchKey,
  type SearchReturn,
} from './search.js';
export {
  formatSequenceSet,
  parseSequenceSet,
  resolveSeqSet,
  resolveUidSet,
  type SeqBound,
  type SeqRange,
  type SequenceSet,
  seqSetOutOfRange,
} from './sequence.js';
export {
  type BuilderOptions,
  continuation,
  ResponseBuilder,
  type StatusName,
  sanitizeCode,
  sanitizeText,
  serializeBodyStructure,
  serializeEnvelope,
  statusResponse,
} from './serialize.js';
export { parseStore, type StoreCommand } from './store.js';
export {
  DEFAULT_READER_LIMITS,
  type ImapDate,
  LITERAL_MINUS_MAX,
  ParseError,
  type ReaderLimits,
  type ReadResult,
  type Token,
} from './types.js';
