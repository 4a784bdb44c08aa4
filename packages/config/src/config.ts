/**
 * The one yubin config object: embedded defaults, then an optional YAML file, then `YUBIN_*`
 * environment variables. This is the only module in the workspace that reads `process.env`, and
 * only `main.ts` files call `loadConfig` (STYLE.md §7).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_DATA_RATE_GRACE_MS, DEFAULT_MIN_DATA_RATE } from '@yubin/core';
import { LineCounter, parseDocument } from 'yaml';

/** pino's level names, quietest last. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Listening ports. 0 means "any free port" (the app reports the one it got). */
export interface PortsConfig {
  /** SMTP relay/MX port (production: 25). Env `YUBIN_SMTP_PORT`, default 2525. */
  readonly smtp: number;
  /** RFC 6409 message submission with STARTTLS (production: 587). Env `YUBIN_SUBMISSION_PORT`, default 2587. */
  readonly submission: number;
  /** RFC 8314 submission over implicit TLS (production: 465). Env `YUBIN_SUBMISSIONS_PORT`, default 2465. */
  readonly submissions: number;
  /** RFC 1939 POP3 with STLS (production: 110). Env `YUBIN_POP3_PORT`, default 2110. */
  readonly pop3: number;
  /** RFC 8314 POP3 over implicit TLS (production: 995). Env `YUBIN_POP3S_PORT`, default 2995. */
  readonly pop3s: number;
  /** RFC 3501 IMAP with STARTTLS (production: 143). Env `YUBIN_IMAP_PORT`, default 2143. */
  readonly imap: number;
  /** RFC 8314 IMAP over implicit TLS (production: 993). Env `YUBIN_IMAPS_PORT`, default 2993. */
  readonly imaps: number;
}

/** TLS key material. Both absent: the apps generate a self-signed dev certificate in `paths.tls`. */
export interface TlsConfig {
  /** PEM certificate chain file (absolute path). Env `YUBIN_TLS_CERT`. */
  readonly cert?: string;
  /** PEM private key file (absolute path). Env `YUBIN_TLS_KEY`. Set together with `cert`. */
  readonly key?: string;
}

/** Resource bounds applied by every protocol server. */
export interface LimitsConfig {
  /** Largest message accepted by SMTP (RFC 1870 SIZE) and IMAP APPEND, in bytes. Default 25 MiB. */
  readonly maxMessageSize: number;
  /** Recipients per SMTP transaction. RFC 5321 §4.5.3.1.8 requires at least 100. Default 100. */
  readonly maxRecipients: number;
  /** Concurrent connections per server process. Default 1000. */
  readonly maxConnections: number;
  /** Concurrent connections from one remote address per server process. Default 50. */
  readonly maxConnectionsPerAddress: number;
  /**
   * Idle SMTP connection timeout. RFC 5321 §4.5.3.2.7: at least 5 minutes. Default 5 min. Like the
   * POP3 and IMAP ones, it is a per-record deadline: a command line must be complete within it of
   * the server's last reply, however many partial bytes arrive meanwhile (slowloris protection).
   */
  readonly smtpIdleTimeoutMs: number;
  /** Idle POP3 connection timeout. RFC 1939 §3: at least 10 minutes. Default 10 min. */
  readonly pop3IdleTimeoutMs: number;
  /** Idle IMAP connection timeout after login. RFC 3501 §5.4: at least 30 minutes. Default 30 min. */
  readonly imapIdleTimeoutMs: number;
  /**
   * Idle IMAP connection timeout before login (RFC 9051 §5.4 allows a shorter one, against denial
   * of service). Default 1 min.
   */
  readonly imapPreauthTimeoutMs: number;
  /**
   * Least average rate of bulk data (SMTP DATA bodies, IMAP literals), in bytes per second, after
   * `dataRateGraceMs`; slower clients are disconnected. 0 turns the check off. Default 500
   * (Postfix's smtpd_min_data_rate).
   */
  readonly minDataRate: number;
  /** How long bulk data may arrive slower than `minDataRate` before the rate counts. Default 30 s. */
  readonly dataRateGraceMs: number;
  /** Longest command line (without literals) a server buffers, in bytes. RFC 7162 §4: ≥ 8192. Default 64 KiB. */
  readonly maxLineLength: number;
  /** Largest IMAP literal in a command other than APPEND, in bytes. Default 1 MiB. */
  readonly maxLiteralSize: number;
}

/**
 * How many processes serve each protocol's connections. With more than one, the service's first
 * process accepts every connection, enforces the connection limits for all, and hands each
 * connection to the least busy process (itself included): the store is shared safely across
 * processes, so a session may land on any of them.
 */
export interface ProcessesConfig {
  /**
   * Env `YUBIN_SMTP_PROCESSES`; default 1. Inbound SMTP is spread; submission and the outbound
   * queue stay in the first process. Each process commits (fsyncs) its own deliveries, so a second
   * one costs CPU per message: on 2 cores it delivered no faster (bench, session 4).
   */
  readonly smtp: number;
  /** Env `YUBIN_IMAP_PROCESSES`; YAML/env `auto` (the default) = the CPU count, at most 4. */
  readonly imap: number;
  /** Env `YUBIN_POP3_PROCESSES`; default 1 (POP3 sessions are short, and logins already hash in threads). */
  readonly pop3: number;
}

export interface AuthConfig {
  /**
   * Accept plaintext passwords (LOGIN, USER/PASS, AUTH PLAIN) on connections that are neither TLS
   * nor loopback. Default false (RFC 8314 §5.4: do not expose cleartext credentials). Env
   * `YUBIN_ALLOW_PLAINTEXT_AUTH`.
   */
  readonly allowPlaintextAuth: boolean;
  /**
   * Brute-force throttle, one budget shared by SMTP AUTH, POP3 and IMAP: failed logins from one
   * client address within `failureWindowMs` that block it. Default 10.
   */
  readonly maxFailuresPerAddress: number;
  /** Failed logins for one account within `failureWindowMs` that block it. Default 10. */
  readonly maxFailuresPerAccount: number;
  /** The window failures are counted in; a block lifts when it has passed. Default 15 minutes. */
  readonly failureWindowMs: number;
  /** Delay before answering after the first failure, doubled per further failure. Default 250 ms. */
  readonly failureDelayMs: number;
  /** The longest such delay. Default 5 s. */
  readonly maxFailureDelayMs: number;
}

export interface LogConfig {
  /** Minimum level. Env `YUBIN_LOG_LEVEL`, default `info`. */
  readonly level: LogLevel;
  /** JSON-lines log file, always written. Env `YUBIN_LOG_FILE`, default `<dataDir>/log/yubin.log`. */
  readonly file: string;
  /** Log every protocol line (credentials masked) at info. Env `YUBIN_TRANSCRIPT`, default false. */
  readonly transcript: boolean;
}

/** RFC 3207 for a transport map destination: `verify` STARTTLS with a checked certificate when
 * offered, `insecure` STARTTLS without checking (a test peer's self-signed certificate), `none` no TLS. */
export type TransportTlsMode = 'verify' | 'insecure' | 'none';

export interface TransportMapEntryConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: TransportTlsMode;
}

/** Sending to other servers. */
export interface OutboundConfig {
  /** Domain → destination, overriding DNS (smart host, tests). Default none. */
  readonly transportMap: Readonly<Record<string, TransportMapEntryConfig>>;
  /** Give up and bounce after this long. RFC 5321 §4.5.4.1: at least 4–5 days. Default 5 days. */
  readonly maxLifetimeMs: number;
  /** Waits between attempts after a temporary failure; the last repeats. Default 5 min … 4 h. */
  readonly retryDelaysMs: readonly number[];
}

/** DKIM signing key of one sender domain (RFC 6376). */
export interface DkimDomainConfig {
  readonly selector: string;
  /** PEM private key file (absolute). */
  readonly key: string;
}

export const DMARC_POLICIES = ['accept', 'tag', 'reject'] as const;
/** What SMTP ingress does when DMARC fails (RFC 7489 §6.6.2). */
export type DmarcPolicyMode = (typeof DMARC_POLICIES)[number];

/** Checks on mail received by SMTP ingress. */
export interface InboundConfig {
  /**
   * `accept`: only record results in Authentication-Results; `tag`: also mark DMARC failures with
   * `X-Yubin-DMARC`; `reject`: apply the sender domain's published policy (p=reject → 550 5.7.1,
   * p=quarantine → Junk). Env `YUBIN_DMARC_POLICY`, default `reject`.
   */
  readonly dmarcPolicy: DmarcPolicyMode;
  /** Timeout of one DNS query (SPF, DKIM, DMARC, MX). Default 5 s. */
  readonly dnsTimeoutMs: number;
  /**
   * Check mail from loopback (127.0.0.0/8, ::1) too. Default false: programs on this machine — your
   * app in development, tests, `yubin send` — send from loopback, where SPF and DMARC say nothing
   * and a slow resolver would only delay them (as Postfix trusts `mynetworks`).
   */
  readonly checkLoopback: boolean;
}

/** Static DNS answers for one name. */
export interface DnsRecordsConfig {
  readonly TXT?: readonly string[];
  readonly MX?: ReadonlyArray<{ readonly exchange: string; readonly priority: number }>;
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
}

export interface DnsConfig {
  /** Answers that win over the network (lab set-ups, tests). Default none. */
  readonly records: Readonly<Record<string, DnsRecordsConfig>>;
  /** Never query the network; names not in `records` do not exist. Default false. */
  readonly offline: boolean;
}

/** Where things live on disk; all absolute, derived from `dataDir` unless set. */
export interface PathsConfig {
  /** Maildir++ root: `<dataDir>/mail`. */
  readonly mail: string;
  /** The accounts file: `<dataDir>/accounts.json`. */
  readonly accounts: string;
  /** Generated dev certificates: `<dataDir>/tls`. */
  readonly tls: string;
  /** The outbound queue: `<dataDir>/queue`. */
  readonly queue: string;
  /** Keys made by `yubin dkim generate`: `<dataDir>/dkim`. */
  readonly dkim: string;
}

/** The validated configuration of one yubin installation. Every field has a default. */
export interface Config {
  /** Absolute data folder. Env `YUBIN_DATA`, default `./data` resolved against the working directory. */
  readonly dataDir: string;
  /** The name this server gives itself (SMTP greeting, Received headers). Env `YUBIN_HOSTNAME`, default `localhost`. */
  readonly hostname: string;
  /** The IP address every server listens on. Env `YUBIN_BIND`, default `127.0.0.1`. */
  readonly bind: string;
  /** Local mail domains, lower-cased. Env `YUBIN_DOMAINS` (comma list), default `[yubin.test]`. */
  readonly domains: readonly string[];
  readonly ports: PortsConfig;
  readonly tls: TlsConfig;
  readonly limits: LimitsConfig;
  readonly processes: ProcessesConfig;
  readonly auth: AuthConfig;
  readonly log: LogConfig;
  readonly outbound: OutboundConfig;
  /** Sender domain → signing key. Default none (no signature). */
  readonly dkim: Readonly<Record<string, DkimDomainConfig>>;
  readonly inbound: InboundConfig;
  readonly dns: DnsConfig;
  readonly paths: PathsConfig;
  /** The YAML file that was read, if any (absolute). */
  readonly configFile?: string;
}

/** A bad config value: names the key (env name or YAML path), the value and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** `YUBIN_SMTP_PORT` or `ports.smtp`; absent for file-level errors. */
    readonly key?: string,
  ) {
    super(message);
  }
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory that relative paths and `./yubin.config.yaml` are resolved against; defaults to `process.cwd()`. */
  readonly cwd?: string;
}

export const DEFAULT_CONFIG_FILE = 'yubin.config.yaml';
const MiB = 1024 * 1024;
const MINUTE = 60_000;

/** Embedded defaults of the scalar keys; paths are derived from `dataDir`. */
export const DEFAULTS = {
  dataDir: './data',
  hostname: 'localhost',
  bind: '127.0.0.1',
  domains: ['yubin.test'],
  ports: {
    smtp: 2525,
    submission: 2587,
    submissions: 2465,
    pop3: 2110,
    pop3s: 2995,
    imap: 2143,
    imaps: 2993,
  },
  limits: {
    maxMessageSize: 25 * MiB,
    maxRecipients: 100, // RFC 5321 §4.5.3.1.8: at least 100 recipients must be buffered
    maxConnections: 1000,
    maxConnectionsPerAddress: 50,
    smtpIdleTimeoutMs: 5 * MINUTE, // RFC 5321 §4.5.3.2.7: server timeout at least 5 minutes
    pop3IdleTimeoutMs: 10 * MINUTE, // RFC 1939 §3: autologout timer at least 10 minutes
    imapIdleTimeoutMs: 30 * MINUTE, // RFC 3501 §5.4: autologout timer at least 30 minutes
    imapPreauthTimeoutMs: 1 * MINUTE, // RFC 9051 §5.4: a shorter timer before authentication
    minDataRate: DEFAULT_MIN_DATA_RATE, // Postfix smtpd_min_data_rate
    dataRateGraceMs: DEFAULT_DATA_RATE_GRACE_MS,
    maxLineLength: 64 * 1024, // RFC 7162 §4: clients may send lines of 8192 octets; leave headroom
    maxLiteralSize: 1 * MiB,
  },
  processes: { smtp: 1, imap: 'auto', pop3: 1 },
  auth: {
    allowPlaintextAuth: false,
    maxFailuresPerAddress: 10,
    maxFailuresPerAccount: 10,
    failureWindowMs: 15 * MINUTE,
    failureDelayMs: 250,
    maxFailureDelayMs: 5_000,
  },
  log: { level: 'info', transcript: false },
  outbound: {
    maxLifetimeMs: 5 * 24 * 60 * MINUTE, // RFC 5321 §4.5.4.1: give-up time at least 4-5 days
    // RFC 5321 §4.5.4.1: retry interval at least 30 minutes (sooner at first: most failures are short)
    retryDelaysMs: [5 * MINUTE, 10 * MINUTE, 30 * MINUTE, 60 * MINUTE, 120 * MINUTE, 240 * MINUTE],
  },
  inbound: { dmarcPolicy: 'reject', dnsTimeoutMs: 5_000, checkLoopback: false },
} as const satisfies {
  ports: PortsConfig;
  limits: LimitsConfig;
  processes: { smtp: number | 'auto'; imap: number | 'auto'; pop3: number | 'auto' };
  auth: AuthConfig;
  log: Omit<LogConfig, 'file'>;
  outbound: Omit<OutboundConfig, 'transportMap'>;
  inbound: InboundConfig;
  dataDir: string;
  hostname: string;
  bind: string;
  domains: readonly string[];
};

/* ---------------------------------------------------------------- value types */

/** A value parser: returns the typed value or `undefined` when `raw` is not allowed. */
interface Kind<T> {
  readonly expected: string;
  parse(raw: unknown, fromEnv: boolean): T | undefined;
}

function integer(min: number, max: number, expected: string): Kind<number> {
  return {
    expected,
    parse(raw, fromEnv) {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (fromEnv && typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) n = Number(raw.trim());
      else return undefined;
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
    },
  };
}

const portKind = integer(0, 65535, 'an integer port 0-65535');
const countKind = integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer');
const bytesKind = integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer number of bytes');
const msKind = integer(1, 2_147_483_647, 'a positive integer number of milliseconds (at most 2147483647)');
const delayKind = integer(0, 2_147_483_647, 'a non-negative integer number of milliseconds (0: no delay)');
const rateKind = integer(
  0,
  Number.MAX_SAFE_INTEGER,
  'a non-negative integer number of bytes per second (0: off)',
);

/** `auto` = the CPU count, at most this many: beyond it the shared store, not the CPU, bounds throughput. */
export const AUTO_PROCESSES_MAX = 4;
const PROCESSES_MAX = 64;

/** A process count, or `auto` for one per CPU (at most AUTO_PROCESSES_MAX). */
const processesKind: Kind<number | 'auto'> = {
  expected: `an integer 1-${PROCESSES_MAX} or "auto"`,
  parse(raw, fromEnv) {
    if (typeof raw === 'string' && raw.trim().toLowerCase() === 'auto') return 'auto';
    return integer(1, PROCESSES_MAX, '').parse(raw, fromEnv);
  },
};

function resolveProcesses(value: number | 'auto'): number {
  return value === 'auto' ? Math.max(1, Math.min(availableParallelism(), AUTO_PROCESSES_MAX)) : value;
}

const boolKind: Kind<boolean> = {
  expected: 'a boolean (true/false, 1/0, yes/no, on/off)',
  parse(raw, fromEnv) {
    if (typeof raw === 'boolean') return raw;
    if (!fromEnv || typeof raw !== 'string') return undefined;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return undefined;
  },
};

const pathKind: Kind<string> = {
  expected: 'a non-empty file system path',
  parse: (raw) => (typeof raw === 'string' && raw.trim() !== '' && !raw.includes('\0') ? raw : undefined),
};

// RFC 1123 §2.1 host names: labels of letters, digits and hyphens, at most 253 characters.
const HOSTNAME_RE =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const hostnameKind: Kind<string> = {
  expected: 'a host name of letters, digits, hyphens and dots (RFC 1123)',
  parse: (raw) =>
    typeof raw === 'string' && HOSTNAME_RE.test(raw.trim().toLowerCase())
      ? raw.trim().toLowerCase()
      : undefined,
};

const bindKind: Kind<string> = {
  expected: 'an IPv4 or IPv6 address (0.0.0.0 or :: for all interfaces)',
  parse: (raw) => (typeof raw === 'string' && isIP(raw.trim()) !== 0 ? raw.trim() : undefined),
};

const logLevelKind: Kind<LogLevel> = {
  expected: `one of ${LOG_LEVELS.join(', ')}`,
  parse(raw) {
    if (typeof raw !== 'string') return undefined;
    const v = raw.trim().toLowerCase();
    return LOG_LEVELS.find((l) => l === v);
  },
};

const domainsKind: Kind<string[]> = {
  expected: 'a non-empty list of domain names',
  parse(raw, fromEnv) {
    let items: unknown[];
    if (fromEnv && typeof raw === 'string') items = raw.split(',');
    else if (Array.isArray(raw)) items = raw;
    else return undefined;
    const out: string[] = [];
    for (const item of items) {
      if (typeof item !== 'string') return undefined;
      const d = item.trim().toLowerCase().replace(/\.$/, '');
      if (d === '' && fromEnv) continue;
      if (!HOSTNAME_RE.test(d) || !d.includes('.')) return undefined;
      if (!out.includes(d)) out.push(d);
    }
    return out.length > 0 ? out : undefined;
  },
};

const dmarcPolicyKind: Kind<DmarcPolicyMode> = {
  expected: `one of ${DMARC_POLICIES.join(', ')}`,
  parse: (raw) =>
    typeof raw === 'string' ? DMARC_POLICIES.find((p) => p === raw.trim().toLowerCase()) : undefined,
};

const delaysKind: Kind<number[]> = {
  expected: 'a non-empty list of positive integer milliseconds',
  parse(raw) {
    if (!Array.isArray(raw) || raw.length === 0) return undefined;
    const out = raw.map((v) => msKind.parse(v, false));
    return out.every((v): v is number => v !== undefined) ? out : undefined;
  },
};

const TRANSPORT_TLS: readonly TransportTlsMode[] = ['verify', 'insecure', 'none'];

function domainKey(raw: string): string | undefined {
  const d = raw.trim().toLowerCase().replace(/\.$/, '');
  return HOSTNAME_RE.test(d) && d.includes('.') ? d : undefined;
}

const transportMapKind: Kind<Record<string, TransportMapEntryConfig>> = {
  expected: 'a mapping of domain to "host:port" or { host, port, tls: verify|insecure|none }',
  parse(raw) {
    if (!isMapping(raw)) return undefined;
    const out: Record<string, TransportMapEntryConfig> = {};
    for (const [key, value] of Object.entries(raw)) {
      const domain = domainKey(key);
      if (domain === undefined) return undefined;
      let host: unknown;
      let port: unknown;
      let tls: unknown = 'verify';
      if (typeof value === 'string') {
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value.trim());
        if (!m) return undefined;
        host = m[1];
        port = Number(m[2]);
      } else if (isMapping(value)) {
        ({ host, port } = value);
        if (value.tls !== undefined) tls = value.tls;
        if (Object.keys(value).some((k) => !['host', 'port', 'tls'].includes(k))) return undefined;
      } else return undefined;
      const p = portKind.parse(port, false);
      const h = typeof host === 'string' ? host.trim().toLowerCase() : '';
      if (p === undefined || p === 0 || (isIP(h) === 0 && !HOSTNAME_RE.test(h))) return undefined;
      const t = TRANSPORT_TLS.find((m) => m === tls);
      if (t === undefined) return undefined;
      out[domain] = { host: h, port: p, tls: t };
    }
    return out;
  },
};

// RFC 6376 §3.1: a selector is one or more dot-separated labels.
const SELECTOR_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

const dkimKind: Kind<Record<string, DkimDomainConfig>> = {
  expected: 'a mapping of domain to { selector, key } (key: a PEM private key file)',
  parse(raw) {
    if (!isMapping(raw)) return undefined;
    const out: Record<string, DkimDomainConfig> = {};
    for (const [key, value] of Object.entries(raw)) {
      const domain = domainKey(key);
      if (domain === undefined || !isMapping(value)) return undefined;
      if (Object.keys(value).some((k) => k !== 'selector' && k !== 'key')) return undefined;
      const { selector, key: file } = value;
      if (typeof selector !== 'string' || !SELECTOR_RE.test(selector)) return undefined;
      const path = pathKind.parse(file, false);
      if (path === undefined) return undefined;
      out[domain] = { selector, key: path };
    }
    return out;
  },
};

const dnsRecordsKind: Kind<Record<string, DnsRecordsConfig>> = {
  expected: 'a mapping of name to { TXT: [..], MX: ["10 host"], A: [..], AAAA: [..] }',
  parse(raw) {
    if (!isMapping(raw)) return undefined;
    const out: Record<string, DnsRecordsConfig> = {};
    const strings = (v: unknown) =>
      Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
    for (const [key, value] of Object.entries(raw)) {
      const name = key.trim().toLowerCase().replace(/\.$/, '');
      if (name === '' || !isMapping(value)) return undefined;
      const rec: {
        TXT?: string[];
        MX?: Array<{ exchange: string; priority: number }>;
        A?: string[];
        AAAA?: string[];
      } = {};
      for (const [type, list] of Object.entries(value)) {
        const items = strings(list);
        if (items === undefined) return undefined;
        if (type === 'TXT') rec.TXT = items;
        else if (type === 'A' && items.every((a) => isIP(a) === 4)) rec.A = items;
        else if (type === 'AAAA' && items.every((a) => isIP(a) === 6)) rec.AAAA = items;
        else if (type === 'MX') {
          const mx = items.map((m) => /^(\d{1,5})\s+(\S+)$/.exec(m.trim()));
          if (mx.some((m) => m === null)) return undefined;
          rec.MX = mx.map((m) => ({ priority: Number(m?.[1]), exchange: String(m?.[2]).replace(/\.$/, '') }));
        } else return undefined;
      }
      out[name] = rec;
    }
    return out;
  },
};

/* ---------------------------------------------------------------- YAML keys */

/** The keys a config file may contain; `true` marks a leaf. */
const SHAPE = {
  dataDir: true,
  hostname: true,
  bind: true,
  domains: true,
  ports: {
    smtp: true,
    submission: true,
    submissions: true,
    pop3: true,
    pop3s: true,
    imap: true,
    imaps: true,
  },
  tls: { cert: true, key: true },
  limits: {
    maxMessageSize: true,
    maxRecipients: true,
    maxConnections: true,
    maxConnectionsPerAddress: true,
    smtpIdleTimeoutMs: true,
    pop3IdleTimeoutMs: true,
    imapIdleTimeoutMs: true,
    imapPreauthTimeoutMs: true,
    minDataRate: true,
    dataRateGraceMs: true,
    maxLineLength: true,
    maxLiteralSize: true,
  },
  processes: { smtp: true, imap: true, pop3: true },
  auth: {
    allowPlaintextAuth: true,
    maxFailuresPerAddress: true,
    maxFailuresPerAccount: true,
    failureWindowMs: true,
    failureDelayMs: true,
    maxFailureDelayMs: true,
  },
  log: { level: true, file: true, transcript: true },
  outbound: { transportMap: true, maxLifetimeMs: true, retryDelaysMs: true },
  dkim: true,
  inbound: { dmarcPolicy: true, dnsTimeoutMs: true, checkLoopback: true },
  dns: { records: true, offline: true },
  paths: { mail: true, accounts: true, tls: true, queue: true, dkim: true },
} as const;

type Shape = { readonly [key: string]: true | Shape };

/** A value as the YAML file gave it (plain JSON-like data). */
type YamlValue = unknown;

function isMapping(v: unknown): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rejects keys the shape does not know, so a typo cannot pass silently. */
function checkKeys(value: { [key: string]: YamlValue }, shape: Shape, prefix: string, file: string): void {
  for (const [key, sub] of Object.entries(value)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const known = Object.hasOwn(shape, key) ? shape[key] : undefined;
    if (known === undefined) {
      const allowed = Object.keys(shape).join(', ');
      throw new ConfigError(`${file}: unknown key "${path}" (allowed here: ${allowed})`, path);
    }
    if (known === true) continue;
    if (sub === null) continue; // an empty section: defaults
    if (!isMapping(sub)) {
      throw new ConfigError(
        `${file}: ${path}=${JSON.stringify(sub)}: expected a mapping of ${Object.keys(known).join(', ')}`,
        path,
      );
    }
    checkKeys(sub, known, path, file);
  }
}

function yamlAt(doc: { [key: string]: YamlValue }, path: string): YamlValue | undefined {
  let cur: YamlValue = doc;
  for (const part of path.split('.')) {
    if (!isMapping(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/* ---------------------------------------------------------------- loading */

function readConfigFile(
  env: NodeJS.ProcessEnv,
  cwd: string,
): { file: string; doc: { [key: string]: YamlValue } } | null {
  const explicit = env['YUBIN_CONFIG'];
  let file: string;
  if (explicit !== undefined && explicit !== '') {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new ConfigError(
        `YUBIN_CONFIG=${JSON.stringify(explicit)}: expected an existing YAML file (${file} not found)`,
        'YUBIN_CONFIG',
      );
    }
  } else {
    file = resolve(cwd, DEFAULT_CONFIG_FILE);
    if (!existsSync(file)) return null;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // YAML 1.2 core schema: `on`/`yes` stay strings, so booleans must be written true/false.
  const lineCounter = new LineCounter();
  const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  const first = parsed.errors[0];
  if (first !== undefined) {
    const line = lineCounter.linePos(first.pos[0]).line;
    throw new ConfigError(
      `${file}: ${line === undefined ? '' : `line ${line}: `}${first.message.split('\n')[0]}`,
    );
  }
  const doc: YamlValue = parsed.toJS();
  if (doc === null || doc === undefined) return { file, doc: {} };
  if (!isMapping(doc)) throw new ConfigError(`${file}: expected a mapping of keys at the top level`);
  checkKeys(doc, SHAPE, '', file);
  return { file, doc };
}

/**
 * Loads the configuration: embedded defaults, then the YAML file (`YUBIN_CONFIG`, else
 * `./yubin.config.yaml` when it exists), then `YUBIN_*` environment variables. An empty environment
 * variable counts as unset. Relative paths from the environment resolve against `cwd`; relative
 * paths in the file resolve against the file's folder.
 *
 * @throws ConfigError naming the key, the value and what is allowed.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const loaded = readConfigFile(env, cwd);
  const fileDir = loaded === null ? cwd : dirname(loaded.file);

  /** The value of one key: env wins over the file; undefined when neither sets it. */
  function pick<T>(path: string, envName: string | null, kind: Kind<T>): T | undefined {
    if (envName !== null) {
      const raw = env[envName];
      if (raw !== undefined && raw !== '') {
        const v = kind.parse(raw, true);
        if (v === undefined)
          throw new ConfigError(`${envName}=${JSON.stringify(raw)}: expected ${kind.expected}`, envName);
        return v;
      }
    }
    if (loaded === null) return undefined;
    const raw = yamlAt(loaded.doc, path);
    if (raw === undefined || raw === null) return undefined;
    const v = kind.parse(raw, false);
    if (v === undefined) {
      throw new ConfigError(
        `${loaded.file}: ${path}=${JSON.stringify(raw)}: expected ${kind.expected}`,
        path,
      );
    }
    return v;
  }

  /** A path key: env values resolve against cwd, file values against the file's folder. */
  function pickPath(path: string, envName: string | null, base: string): string | undefined {
    const fromEnv = envName !== null && env[envName] !== undefined && env[envName] !== '';
    const v = pick(path, envName, pathKind);
    if (v === undefined) return undefined;
    return isAbsolute(v) ? v : resolve(fromEnv ? cwd : base, v);
  }

  const dataDir = pickPath('dataDir', 'YUBIN_DATA', fileDir) ?? resolve(cwd, DEFAULTS.dataDir);
  const d = DEFAULTS;

  const ports: PortsConfig = {
    smtp: pick('ports.smtp', 'YUBIN_SMTP_PORT', portKind) ?? d.ports.smtp,
    submission: pick('ports.submission', 'YUBIN_SUBMISSION_PORT', portKind) ?? d.ports.submission,
    submissions: pick('ports.submissions', 'YUBIN_SUBMISSIONS_PORT', portKind) ?? d.ports.submissions,
    pop3: pick('ports.pop3', 'YUBIN_POP3_PORT', portKind) ?? d.ports.pop3,
    pop3s: pick('ports.pop3s', 'YUBIN_POP3S_PORT', portKind) ?? d.ports.pop3s,
    imap: pick('ports.imap', 'YUBIN_IMAP_PORT', portKind) ?? d.ports.imap,
    imaps: pick('ports.imaps', 'YUBIN_IMAPS_PORT', portKind) ?? d.ports.imaps,
  };
  const nonZero = Object.entries(ports).filter(([, p]) => p !== 0);
  for (const [i, [name, port]] of nonZero.entries()) {
    const clash = nonZero.slice(0, i).find(([, p]) => p === port);
    if (clash !== undefined) {
      throw new ConfigError(
        `ports.${name}=${port}: expected a port not already used by ports.${clash[0]}`,
        `ports.${name}`,
      );
    }
  }

  const cert = pickPath('tls.cert', 'YUBIN_TLS_CERT', fileDir);
  const key = pickPath('tls.key', 'YUBIN_TLS_KEY', fileDir);
  if ((cert === undefined) !== (key === undefined)) {
    const [has, missing] =
      cert === undefined ? ['YUBIN_TLS_KEY', 'YUBIN_TLS_CERT'] : ['YUBIN_TLS_CERT', 'YUBIN_TLS_KEY'];
    throw new ConfigError(
      `${has}=${JSON.stringify(cert ?? key)}: expected ${missing} (tls.${missing === 'YUBIN_TLS_CERT' ? 'cert' : 'key'}) to be set too`,
      has,
    );
  }
  const tls: TlsConfig = cert !== undefined && key !== undefined ? { cert, key } : {};

  const limits: LimitsConfig = {
    maxMessageSize:
      pick('limits.maxMessageSize', 'YUBIN_MAX_MESSAGE_SIZE', bytesKind) ?? d.limits.maxMessageSize,
    maxRecipients: pick('limits.maxRecipients', null, countKind) ?? d.limits.maxRecipients,
    maxConnections: pick('limits.maxConnections', null, countKind) ?? d.limits.maxConnections,
    maxConnectionsPerAddress:
      pick('limits.maxConnectionsPerAddress', null, countKind) ?? d.limits.maxConnectionsPerAddress,
    smtpIdleTimeoutMs: pick('limits.smtpIdleTimeoutMs', null, msKind) ?? d.limits.smtpIdleTimeoutMs,
    pop3IdleTimeoutMs: pick('limits.pop3IdleTimeoutMs', null, msKind) ?? d.limits.pop3IdleTimeoutMs,
    imapIdleTimeoutMs: pick('limits.imapIdleTimeoutMs', null, msKind) ?? d.limits.imapIdleTimeoutMs,
    imapPreauthTimeoutMs: pick('limits.imapPreauthTimeoutMs', null, msKind) ?? d.limits.imapPreauthTimeoutMs,
    minDataRate: pick('limits.minDataRate', null, rateKind) ?? d.limits.minDataRate,
    dataRateGraceMs: pick('limits.dataRateGraceMs', null, msKind) ?? d.limits.dataRateGraceMs,
    maxLineLength: pick('limits.maxLineLength', null, bytesKind) ?? d.limits.maxLineLength,
    maxLiteralSize: pick('limits.maxLiteralSize', null, bytesKind) ?? d.limits.maxLiteralSize,
  };

  return {
    dataDir,
    hostname: pick('hostname', 'YUBIN_HOSTNAME', hostnameKind) ?? d.hostname,
    bind: pick('bind', 'YUBIN_BIND', bindKind) ?? d.bind,
    domains: pick('domains', 'YUBIN_DOMAINS', domainsKind) ?? [...d.domains],
    ports,
    tls,
    limits,
    processes: {
      smtp: resolveProcesses(
        pick('processes.smtp', 'YUBIN_SMTP_PROCESSES', processesKind) ?? d.processes.smtp,
      ),
      imap: resolveProcesses(
        pick('processes.imap', 'YUBIN_IMAP_PROCESSES', processesKind) ?? d.processes.imap,
      ),
      pop3: resolveProcesses(
        pick('processes.pop3', 'YUBIN_POP3_PROCESSES', processesKind) ?? d.processes.pop3,
      ),
    },
    auth: {
      allowPlaintextAuth:
        pick('auth.allowPlaintextAuth', 'YUBIN_ALLOW_PLAINTEXT_AUTH', boolKind) ?? d.auth.allowPlaintextAuth,
      maxFailuresPerAddress:
        pick('auth.maxFailuresPerAddress', null, countKind) ?? d.auth.maxFailuresPerAddress,
      maxFailuresPerAccount:
        pick('auth.maxFailuresPerAccount', null, countKind) ?? d.auth.maxFailuresPerAccount,
      failureWindowMs: pick('auth.failureWindowMs', null, msKind) ?? d.auth.failureWindowMs,
      failureDelayMs: pick('auth.failureDelayMs', null, delayKind) ?? d.auth.failureDelayMs,
      maxFailureDelayMs: pick('auth.maxFailureDelayMs', null, delayKind) ?? d.auth.maxFailureDelayMs,
    },
    log: {
      level: pick('log.level', 'YUBIN_LOG_LEVEL', logLevelKind) ?? d.log.level,
      file: pickPath('log.file', 'YUBIN_LOG_FILE', fileDir) ?? join(dataDir, 'log', 'yubin.log'),
      transcript: pick('log.transcript', 'YUBIN_TRANSCRIPT', boolKind) ?? d.log.transcript,
    },
    outbound: {
      transportMap: pick('outbound.transportMap', null, transportMapKind) ?? {},
      maxLifetimeMs: pick('outbound.maxLifetimeMs', null, msKind) ?? d.outbound.maxLifetimeMs,
      retryDelaysMs: pick('outbound.retryDelaysMs', null, delaysKind) ?? [...d.outbound.retryDelaysMs],
    },
    dkim: Object.fromEntries(
      Object.entries(pick('dkim', null, dkimKind) ?? {}).map(([domain, k]) => [
        domain,
        { selector: k.selector, key: isAbsolute(k.key) ? k.key : resolve(fileDir, k.key) },
      ]),
    ),
    inbound: {
      dmarcPolicy:
        pick('inbound.dmarcPolicy', 'YUBIN_DMARC_POLICY', dmarcPolicyKind) ?? d.inbound.dmarcPolicy,
      dnsTimeoutMs: pick('inbound.dnsTimeoutMs', null, msKind) ?? d.inbound.dnsTimeoutMs,
      checkLoopback: pick('inbound.checkLoopback', null, boolKind) ?? d.inbound.checkLoopback,
    },
    dns: {
      records: pick('dns.records', null, dnsRecordsKind) ?? {},
      offline: pick('dns.offline', null, boolKind) ?? false,
    },
    paths: {
      mail: pickPath('paths.mail', null, fileDir) ?? join(dataDir, 'mail'),
      accounts: pickPath('paths.accounts', null, fileDir) ?? join(dataDir, 'accounts.json'),
      tls: pickPath('paths.tls', null, fileDir) ?? join(dataDir, 'tls'),
      queue: pickPath('paths.queue', null, fileDir) ?? join(dataDir, 'queue'),
      dkim: pickPath('paths.dkim', null, fileDir) ?? join(dataDir, 'dkim'),
    },
    ...(loaded === null ? {} : { configFile: loaded.file }),
  };
}
