export {
  ALICE,
  BOB,
  type ConformanceStoreOptions,
  describeMailStore,
  expectStoreError,
  type MailStoreFactory,
  NOTIFY_TIMEOUT_MS,
  SMALL,
  SMALL_MAX_BYTES,
  SMALL_MAX_MESSAGES,
  SUITE_MAX_MESSAGE_SIZE,
  sampleMessage,
  waitFor,
} from './conformance.js';
export {
  createMemoryStore,
  DEFAULT_MAILBOXES,
  type FailNextOptions,
  MEMORY_NOTIFY_DELAY_MS,
  type MemoryMailbox,
  type MemoryMessage,
  type MemoryStore,
  type MemoryStoreOp,
  type MemoryStoreOptions,
} from './memory-store.js';
export { connectSocket, eventually, RawClient, startHandOverFront } from './raw-client.js';
export { canonicalFlags, normalizeMailboxName, sortFlags, toCrlf, uidlFor } from './store-rules.js';
export { type TestCertificate, testCertificate } from './tls.js';
export {
  LineSession,
  type TranscriptOptions,
  type TranscriptResult,
  type TranscriptTarget,
  transcript,
} from './transcript.js';
