import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from './config.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'yubin-config-'));
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('gives the embedded defaults with no file and no env', () => {
    const cwd = tmp();
    const c = loadConfig({ env: {}, cwd });
    const expected: Config = {
      dataDir: join(cwd, 'data'),
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
      tls: {},
      limits: {
        maxMessageSize: 25 * 1024 * 1024,
        maxRecipients: 100,
        maxConnections: 1000,
        maxConnectionsPerAddress: 50,
        smtpIdleTimeoutMs: 300_000,
        pop3IdleTimeoutMs: 600_000,
        imapIdleTimeoutMs: 1_800_000,
        imapPreauthTimeoutMs: 60_000,
        minDataRate: 500,
        dataRateGraceMs: 30_000,
        maxLineLength: 65536,
        maxLiteralSize: 1048576,
      },
      processes: { smtp: 1, imap: Math.min(availableParallelism(), 4), pop3: 1 },
      auth: {
        allowPlaintextAuth: false,
        maxFailuresPerAddress: 10,
        maxFailuresPerAccount: 10,
        failureWindowMs: 900_000,
        failureDelayMs: 250,
        maxFailureDelayMs: 5000,
      },
      log: { level: 'info', file: join(cwd, 'data', 'log', 'yubin.log'), transcript: false },
      outbound: {
        transportMap: {},
        maxLifetimeMs: 5 * 24 * 3_600_000,
        retryDelaysMs: [300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
      },
      dkim: {},
      inbound: { dmarcPolicy: 'reject', dnsTimeoutMs: 5000, checkLoopback: false },
      dns: { records: {}, offline: false },
      paths: {
        mail: join(cwd, 'data', 'mail'),
        accounts: join(cwd, 'data', 'accounts.json'),
        tls: join(cwd, 'data', 'tls'),
        queue: join(cwd, 'data', 'queue'),
        dkim: join(cwd, 'data', 'dkim'),
      },
    };
    expect(c).toEqual(expected);
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({ env: { YUBIN_SMTP_PORT: '', YUBIN_HOSTNAME: '' }, cwd: tmp() });
    expect(c.ports.smtp).toBe(2525);
    expect(c.hostname).toBe('localhost');
  });

  it('the example file parses and equals the defaults', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'yubin.config.yaml'),
      readFileSync(new URL('../yubin.config.example.yaml', import.meta.url)),
    );
    const { configFile, ...fromFile } = loadConfig({ env: {}, cwd: dir });
    expect(configFile).toBe(join(dir, 'yubin.config.yaml'));
    const plain = loadConfig({ env: { YUBIN_DATA: join(dir, 'data') }, cwd: tmp() });
    expect(fromFile).toEqual(plain);
  });

  it("infra/'s production example is a valid config on the standard ports", () => {
    const file = fileURLToPath(new URL('../../../infra/yubin.production.yaml', import.meta.url));
    const c = loadConfig({ env: { YUBIN_CONFIG: file }, cwd: tmp() });
    expect(c.configFile).toBe(file);
    expect(c.ports).toEqual({
      smtp: 25,
      submission: 587,
      submissions: 465,
      pop3: 110,
      pop3s: 995,
      imap: 143,
      imaps: 993,
    });
  });
});

describe('environment overrides', () => {
  const cwd = tmp();
  const cases: Array<[string, string, (c: Config) => unknown, unknown]> = [
    [
      'YUBIN_DATA',
      'var/yubin',
      (c) => [c.dataDir, c.paths.mail, c.paths.accounts, c.paths.tls, c.log.file],
      [
        join(cwd, 'var/yubin'),
        join(cwd, 'var/yubin/mail'),
        join(cwd, 'var/yubin/accounts.json'),
        join(cwd, 'var/yubin/tls'),
        join(cwd, 'var/yubin/log/yubin.log'),
      ],
    ],
    ['YUBIN_DATA', '/srv/yubin', (c) => c.dataDir, '/srv/yubin'],
    ['YUBIN_HOSTNAME', 'Mail.Example.COM', (c) => c.hostname, 'mail.example.com'],
    ['YUBIN_BIND', '0.0.0.0', (c) => c.bind, '0.0.0.0'],
    ['YUBIN_BIND', '::1', (c) => c.bind, '::1'],
    ['YUBIN_SMTP_PORT', '25', (c) => c.ports.smtp, 25],
    ['YUBIN_SMTP_PORT', '0', (c) => c.ports.smtp, 0],
    ['YUBIN_SUBMISSION_PORT', '587', (c) => c.ports.submission, 587],
    ['YUBIN_SUBMISSIONS_PORT', '465', (c) => c.ports.submissions, 465],
    ['YUBIN_POP3_PORT', '110', (c) => c.ports.pop3, 110],
    ['YUBIN_POP3S_PORT', '995', (c) => c.ports.pop3s, 995],
    ['YUBIN_IMAP_PORT', '143', (c) => c.ports.imap, 143],
    ['YUBIN_IMAPS_PORT', '993', (c) => c.ports.imaps, 993],
    ['YUBIN_LOG_LEVEL', 'DEBUG', (c) => c.log.level, 'debug'],
    ['YUBIN_LOG_FILE', 'x.log', (c) => c.log.file, join(cwd, 'x.log')],
    ['YUBIN_DOMAINS', 'A.test, b.test,,a.test', (c) => c.domains, ['a.test', 'b.test']],
    ['YUBIN_TRANSCRIPT', 'yes', (c) => c.log.transcript, true],
    ['YUBIN_TRANSCRIPT', '0', (c) => c.log.transcript, false],
    ['YUBIN_ALLOW_PLAINTEXT_AUTH', 'true', (c) => c.auth.allowPlaintextAuth, true],
    ['YUBIN_MAX_MESSAGE_SIZE', '1000', (c) => c.limits.maxMessageSize, 1000],
  ];
  it.each(cases)('%s=%s', (name, value, get, expected) => {
    expect(get(loadConfig({ env: { [name]: value }, cwd }))).toEqual(expected);
  });

  it('YUBIN_TLS_CERT and YUBIN_TLS_KEY together', () => {
    const c = loadConfig({ env: { YUBIN_TLS_CERT: 'c.pem', YUBIN_TLS_KEY: '/k.pem' }, cwd });
    expect(c.tls).toEqual({ cert: join(cwd, 'c.pem'), key: '/k.pem' });
  });
});

describe('YAML file', () => {
  it('is read from ./yubin.config.yaml and env wins over it', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'yubin.config.yaml'),
      [
        'dataDir: store # relative to this file',
        'hostname: mx.example.org',
        'domains: [example.org, "example.net"]',
        'ports:',
        '  smtp: 25',
        '  imap: 0',
        'limits:',
        '  maxRecipients: 500',
        'log:',
        '  transcript: true',
        'tls:',
        '  cert: tls/cert.pem',
        '  key: tls/key.pem',
      ].join('\n'),
    );
    const c = loadConfig({ env: { YUBIN_SMTP_PORT: '2526' }, cwd: dir });
    expect(c.dataDir).toBe(join(dir, 'store'));
    expect(c.paths.mail).toBe(join(dir, 'store', 'mail'));
    expect(c.hostname).toBe('mx.example.org');
    expect(c.domains).toEqual(['example.org', 'example.net']);
    expect(c.ports.smtp).toBe(2526);
    expect(c.ports.imap).toBe(0);
    expect(c.ports.pop3).toBe(2110);
    expect(c.limits.maxRecipients).toBe(500);
    expect(c.log.transcript).toBe(true);
    expect(c.tls).toEqual({ cert: join(dir, 'tls/cert.pem'), key: join(dir, 'tls/key.pem') });
  });

  it('is read from YUBIN_CONFIG (relative to cwd)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'other.yaml'), 'domains:\n  - one.test\n  - two.test\n');
    const c = loadConfig({ env: { YUBIN_CONFIG: 'other.yaml' }, cwd: dir });
    expect(c.domains).toEqual(['one.test', 'two.test']);
    expect(c.configFile).toBe(join(dir, 'other.yaml'));
  });

  it('an empty file gives the defaults', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'yubin.config.yaml'), '# nothing\n');
    expect(loadConfig({ env: {}, cwd: dir }).ports.smtp).toBe(2525);
  });
});

describe('bad values', () => {
  const cwd = tmp();
  const envCases: Array<[Record<string, string>, string]> = [
    [{ YUBIN_SMTP_PORT: 'abc' }, 'YUBIN_SMTP_PORT="abc": expected an integer port 0-65535'],
    [{ YUBIN_IMAP_PORT: '65536' }, 'YUBIN_IMAP_PORT="65536": expected an integer port 0-65535'],
    [{ YUBIN_POP3_PORT: '-1' }, 'YUBIN_POP3_PORT="-1": expected an integer port 0-65535'],
    [{ YUBIN_POP3S_PORT: '99.5' }, 'YUBIN_POP3S_PORT="99.5": expected an integer port 0-65535'],
    [
      { YUBIN_BIND: 'localhost' },
      'YUBIN_BIND="localhost": expected an IPv4 or IPv6 address (0.0.0.0 or :: for all interfaces)',
    ],
    [
      { YUBIN_HOSTNAME: 'bad host' },
      'YUBIN_HOSTNAME="bad host": expected a host name of letters, digits, hyphens and dots (RFC 1123)',
    ],
    [
      { YUBIN_LOG_LEVEL: 'loud' },
      'YUBIN_LOG_LEVEL="loud": expected one of trace, debug, info, warn, error, fatal, silent',
    ],
    [
      { YUBIN_TRANSCRIPT: 'maybe' },
      'YUBIN_TRANSCRIPT="maybe": expected a boolean (true/false, 1/0, yes/no, on/off)',
    ],
    [
      { YUBIN_DOMAINS: 'a.test,not a domain' },
      'YUBIN_DOMAINS="a.test,not a domain": expected a non-empty list of domain names',
    ],
    [{ YUBIN_DOMAINS: ',' }, 'YUBIN_DOMAINS=",": expected a non-empty list of domain names'],
    [{ YUBIN_TLS_CERT: '/c.pem' }, 'YUBIN_TLS_CERT="/c.pem": expected YUBIN_TLS_KEY (tls.key) to be set too'],
    [{ YUBIN_SMTP_PORT: '2110' }, 'ports.pop3=2110: expected a port not already used by ports.smtp'],
  ];
  it.each(envCases)('%j', (env, message) => {
    const err = errorOf(() => loadConfig({ env, cwd }));
    expect(err.message).toBe(message);
  });

  it('reads process counts: a number or auto (the CPU count, at most 4)', () => {
    const cwd = tmp();
    const c = loadConfig({
      env: { YUBIN_SMTP_PROCESSES: '2', YUBIN_IMAP_PROCESSES: '3', YUBIN_POP3_PROCESSES: 'auto' },
      cwd,
    });
    expect(c.processes).toEqual({ smtp: 2, imap: 3, pop3: Math.min(availableParallelism(), 4) });
    writeFileSync(join(cwd, 'yubin.config.yaml'), 'processes:\n  smtp: 1\n  imap: 1\n  pop3: 2\n');
    expect(loadConfig({ env: {}, cwd }).processes).toEqual({ smtp: 1, imap: 1, pop3: 2 });
    for (const bad of ['0', '65', 'many', '-1'])
      expect(() => loadConfig({ env: { YUBIN_IMAP_PROCESSES: bad }, cwd })).toThrow(/YUBIN_IMAP_PROCESSES/);
  });

  it('reads the slow-client limits; a minimum data rate of 0 turns the check off', () => {
    const dir = tmp();
    const file = join(dir, 'yubin.config.yaml');
    writeFileSync(
      file,
      'limits:\n  imapPreauthTimeoutMs: 15000\n  minDataRate: 0\n  dataRateGraceMs: 5000\n',
    );
    const c = loadConfig({ env: {}, cwd: dir });
    expect([c.limits.imapPreauthTimeoutMs, c.limits.minDataRate, c.limits.dataRateGraceMs]).toEqual([
      15_000, 0, 5_000,
    ]);
    writeFileSync(file, 'limits:\n  minDataRate: -1\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: limits.minDataRate=-1: expected a non-negative integer number of bytes per second (0: off)`,
    );
  });

  it('reads the brute-force throttle settings; a failure delay of 0 answers at once', () => {
    const dir = tmp();
    const file = join(dir, 'yubin.config.yaml');
    writeFileSync(
      file,
      'auth:\n  maxFailuresPerAddress: 3\n  maxFailuresPerAccount: 5\n  failureWindowMs: 60000\n  failureDelayMs: 0\n  maxFailureDelayMs: 100\n',
    );
    const { allowPlaintextAuth: _, ...throttle } = loadConfig({ env: {}, cwd: dir }).auth;
    expect(throttle).toEqual({
      maxFailuresPerAddress: 3,
      maxFailuresPerAccount: 5,
      failureWindowMs: 60_000,
      failureDelayMs: 0,
      maxFailureDelayMs: 100,
    });
    writeFileSync(file, 'auth:\n  maxFailuresPerAccount: 0\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: auth.maxFailuresPerAccount=0: expected a positive integer`,
    );
  });

  it('names the YAML path and file', () => {
    const dir = tmp();
    const file = join(dir, 'yubin.config.yaml');
    writeFileSync(file, 'ports:\n  smtp: "25"\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: ports.smtp="25": expected an integer port 0-65535`,
    );
    writeFileSync(file, 'limits:\n  maxRecipients: 0\n');
    const err = errorOf(() => loadConfig({ env: {}, cwd: dir }));
    expect(err.message).toBe(`${file}: limits.maxRecipients=0: expected a positive integer`);
    expect(err.key).toBe('limits.maxRecipients');
  });

  it('refuses unknown keys at any depth', () => {
    const dir = tmp();
    const file = join(dir, 'yubin.config.yaml');
    writeFileSync(file, 'limits:\n  maxMesageSize: 10\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: unknown key "limits.maxMesageSize" (allowed here: maxMessageSize, maxRecipients, maxConnections, maxConnectionsPerAddress, smtpIdleTimeoutMs, pop3IdleTimeoutMs, imapIdleTimeoutMs, imapPreauthTimeoutMs, minDataRate, dataRateGraceMs, maxLineLength, maxLiteralSize)`,
    );
    writeFileSync(file, 'hostnme: x\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toMatch(
      /: unknown key "hostnme" \(allowed here: dataDir, hostname, /,
    );
    writeFileSync(file, 'ports: 25\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: ports=25: expected a mapping of smtp, submission, submissions, pop3, pop3s, imap, imaps`,
    );
  });

  it('reports YAML syntax errors with the line', () => {
    const dir = tmp();
    const file = join(dir, 'yubin.config.yaml');
    writeFileSync(file, 'ports:\n  smtp: 25\n   imap: 1\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: line 2: Nested mappings are not allowed in compact mappings`,
    );
    writeFileSync(file, 'hostname: a\nhostname: b\n');
    expect(errorOf(() => loadConfig({ env: {}, cwd: dir })).message).toBe(
      `${file}: line 2: Map keys must be unique`,
    );
  });

  it('refuses a missing YUBIN_CONFIG file', () => {
    const dir = tmp();
    expect(errorOf(() => loadConfig({ env: { YUBIN_CONFIG: 'nope.yaml' }, cwd: dir })).message).toBe(
      `YUBIN_CONFIG="nope.yaml": expected an existing YAML file (${join(dir, 'nope.yaml')} not found)`,
    );
  });
});

describe('outbound, dkim, inbound and dns keys', () => {
  const withFile = (text: string, env: NodeJS.ProcessEnv = {}) => {
    const cwd = tmp();
    writeFileSync(join(cwd, 'yubin.config.yaml'), text);
    return { cwd, load: () => loadConfig({ env, cwd }) };
  };

  it('reads a transport map in both forms, a DKIM key relative to the file, DMARC policy and static DNS', () => {
    const { cwd, load } = withFile(
      [
        'outbound:',
        '  transportMap:',
        '    B.test: 127.0.0.1:2526',
        '    c.test: { host: smarthost.example, port: 587, tls: none }',
        '  maxLifetimeMs: 60000',
        '  retryDelaysMs: [500, 1000]',
        'dkim:',
        '  a.test: { selector: s1, key: dkim/a.pem }',
        'inbound:',
        '  dmarcPolicy: tag',
        '  dnsTimeoutMs: 200',
        'dns:',
        '  offline: true',
        '  records:',
        '    s1._domainkey.a.test: { TXT: ["v=DKIM1; k=rsa; p=AAAA"] }',
        '    a.test: { MX: ["10 mx.a.test."], A: [127.0.0.1] }',
      ].join('\n'),
    );
    const c = load();
    expect(c.outbound).toEqual({
      transportMap: {
        'b.test': { host: '127.0.0.1', port: 2526, tls: 'verify' },
        'c.test': { host: 'smarthost.example', port: 587, tls: 'none' },
      },
      maxLifetimeMs: 60000,
      retryDelaysMs: [500, 1000],
    });
    expect(c.dkim).toEqual({ 'a.test': { selector: 's1', key: join(cwd, 'dkim', 'a.pem') } });
    expect(c.inbound).toEqual({ dmarcPolicy: 'tag', dnsTimeoutMs: 200, checkLoopback: false });
    expect(c.dns).toEqual({
      offline: true,
      records: {
        's1._domainkey.a.test': { TXT: ['v=DKIM1; k=rsa; p=AAAA'] },
        'a.test': { MX: [{ priority: 10, exchange: 'mx.a.test' }], A: ['127.0.0.1'] },
      },
    });
  });

  it.each([
    ['outbound:\n  transportMap:\n    b.test: nowhere', 'outbound.transportMap'],
    [
      'outbound:\n  transportMap:\n    b.test: { host: h.test, port: 25, tls: maybe }',
      'outbound.transportMap',
    ],
    ['outbound:\n  retryDelaysMs: []', 'outbound.retryDelaysMs'],
    ['dkim:\n  a.test: { selector: "bad selector", key: k.pem }', 'dkim'],
    ['inbound:\n  dmarcPolicy: quarantine', 'inbound.dmarcPolicy'],
    ['dns:\n  records:\n    a.test: { MX: ["mx.a.test"] }', 'dns.records'],
    ['outbound:\n  typo: 1', 'outbound.typo'],
  ])('refuses %j naming the key %s', (text, key) => {
    const err = errorOf(withFile(text).load);
    expect(err.key).toBe(key);
  });

  it('takes the DMARC policy from YUBIN_DMARC_POLICY and names the allowed values', () => {
    expect(loadConfig({ env: { YUBIN_DMARC_POLICY: 'accept' }, cwd: tmp() }).inbound.dmarcPolicy).toBe(
      'accept',
    );
    const err = errorOf(() => loadConfig({ env: { YUBIN_DMARC_POLICY: 'x' }, cwd: tmp() }));
    expect(err.message).toBe('YUBIN_DMARC_POLICY="x": expected one of accept, tag, reject');
  });
});
