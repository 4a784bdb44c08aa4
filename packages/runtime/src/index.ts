export { RestartBackoff } from './backoff.js';
export {
  type Endpoint,
  listenAll,
  POOL_MEMBER_ENV,
  type Pool,
  type PoolableService,
  type PoolRole,
  runPooledService,
  type SocketServer,
  startPool,
} from './pool.js';
export {
  ensureConfiguredDomains,
  type Listening,
  openServiceContext,
  type ReadyMessage,
  type RunningService,
  runService,
  SERVICE_THREADPOOL_SIZE,
  type ServiceContext,
  serviceEnv,
} from './service.js';
export {
  createImapService,
  createPop3Service,
  createSmtpService,
  startImap,
  startPop3,
  startSmtp,
} from './services.js';
export {
  createTlsProvider,
  DEV_BUNDLE_FILE,
  ensureTlsFiles,
  MIN_TLS_VERSION,
  type TlsFiles,
  type TlsMaterial,
  type TlsProvider,
} from './tls.js';
