export type { AuthContext, Authenticator, AuthResult, Protocol, RecipientResolver, Route } from './auth.js';
export { isStoreError, StoreError, type StoreErrorCode, storeErrorFromFs } from './errors.js';
export { type Log, type LogFn, nullLog } from './log.js';
export type {
  BodyPart,
  Disposition,
  Envelope,
  EnvelopeAddress,
  MessageStructure,
  MimeParams,
  PartRanges,
} from './mime.js';
export { decodeMailboxName, encodeMailboxName } from './mutf7.js';
export { isLoopbackAddress, listenBacklog } from './net.js';
export {
  DEFAULT_DATA_RATE_GRACE_MS,
  DEFAULT_MIN_DATA_RATE,
  SlowClientGuard,
  type SlowClientLimits,
  type SlowClientVerdict,
} from './slow-client.js';
export {
  type AppendOptions,
  type AppendResult,
  type ByteRange,
  type CopyResult,
  type DeliveredCopy,
  type Delivery,
  type DeliveryRequest,
  type DeliveryTarget,
  type Flag,
  type FlagOperation,
  HIERARCHY_SEPARATOR,
  INBOX,
  type Lock,
  type MailAccount,
  type MailboxChanges,
  type MailboxInfo,
  type MailboxStatus,
  type MailboxView,
  type MailStore,
  type MessageMeta,
  type OpenOptions,
  type QuotaUsage,
  type SpecialUse,
  SYSTEM_FLAGS,
  type SystemFlag,
} from './store.js';
