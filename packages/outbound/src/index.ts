export {
  type BounceInput,
  buildBounce,
  type FailedRecipient,
  MAX_BOUNCE_HEADER_BYTES,
  statusFromReply,
} from './bounce.js';
export {
  DKIM_RSA_BITS,
  DKIM_SIGNED_HEADERS,
  type DkimKey,
  dkimDnsRecord,
  generateDkimKey,
  signMessage,
} from './dkim.js';
export {
  createDnsResolver,
  DEFAULT_DNS_TIMEOUT_MS,
  DnsError,
  type DnsResolver,
  type DnsResolverOptions,
  isNoSuchRecord,
  type MxRecord,
  mailauthResolver,
  type StaticRecords,
} from './dns.js';
export {
  completeHeader,
  domainOf,
  headerEnd,
  headerValue,
  newMessageId,
  parseHeader,
  rfc5322Date,
} from './message.js';
export {
  acquireRunnerLock,
  type EnqueueInput,
  FOREIGN_LOCK_STALE_MS,
  isQueueId,
  type OutboundQueue,
  openQueue,
  type QueueEntry,
  type QueueRecipient,
  type RecipientState,
  refreshRunnerLock,
} from './queue.js';
export {
  type Destination,
  MAX_MX_HOSTS,
  type RouteResult,
  routeFor,
  SMTP_PORT,
  type TransportMap,
  type TransportMapEntry,
  type TransportTls,
} from './routes.js';
export {
  CONNECT_TIMEOUT_MS,
  createQueueRunner,
  DEFAULT_MAX_CONCURRENT_ENTRIES,
  DEFAULT_MAX_CONNECTIONS_PER_DESTINATION,
  DEFAULT_POLL_MS,
  type QueueRunner,
  type QueueRunnerOptions,
} from './runner.js';
export { DEFAULT_MAX_LIFETIME_MS, DEFAULT_RETRY_DELAYS_MS, retryDelay } from './schedule.js';
