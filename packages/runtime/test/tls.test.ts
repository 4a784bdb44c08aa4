import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@yubin/config';
import { nullLog } from '@yubin/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTlsProvider, ensureTlsFiles } from '../src/index.js';

describe('TLS material', () => {
  let data: string;
  beforeEach(async () => {
    data = await mkdtemp(join(tmpdir(), 'yubin-tls-'));
  });
  afterEach(() => rm(data, { recursive: true, force: true }));

  it('generates a development certificate once, valid for the hostname, localhost and loopback', async () => {
    const config = loadConfig({ env: { YUBIN_DATA: data, YUBIN_HOSTNAME: 'mail.yubin.test' }, cwd: data });
    const first = await ensureTlsFiles(config, nullLog);
    expect(first.dev).toBe(true);
    const pem = await readFile(first.certPath, 'utf8');
    const cert = new X509Certificate(pem);
    expect(cert.checkHost('mail.yubin.test')).toBe('mail.yubin.test');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // Second start: the same files, not a new certificate.
    await ensureTlsFiles(config, nullLog);
    expect(await readFile(first.certPath, 'utf8')).toBe(pem);
  });

  it('uses configured files instead, and reloads them when they change', async () => {
    const dev = await ensureTlsFiles(
      loadConfig({ env: { YUBIN_DATA: join(data, 'a') }, cwd: data }),
      nullLog,
    );
    const other = await ensureTlsFiles(
      loadConfig({ env: { YUBIN_DATA: join(data, 'b'), YUBIN_HOSTNAME: 'other.test' }, cwd: data }),
      nullLog,
    );
    const certPath = join(data, 'cert.pem');
    const keyPath = join(data, 'key.pem');
    await writeFile(certPath, await readFile(dev.certPath));
    await writeFile(keyPath, await readFile(dev.keyPath));
    const config = loadConfig({
      env: { YUBIN_DATA: data, YUBIN_TLS_CERT: certPath, YUBIN_TLS_KEY: keyPath },
      cwd: data,
    });
    const files = await ensureTlsFiles(config, nullLog);
    expect(files).toEqual({ certPath, keyPath, dev: false });
    const provider = await createTlsProvider(files, nullLog);
    try {
      const reloaded = new Promise<string>((resolve) => provider.onReload((m) => resolve(m.cert)));
      await writeFile(keyPath, await readFile(other.keyPath));
      await writeFile(certPath, await readFile(other.certPath));
      process.kill(process.pid, 'SIGHUP');
      const cert = await reloaded;
      expect(new X509Certificate(cert).checkHost('other.test')).toBe('other.test');
      expect(provider.material().cert).toBe(cert);
    } finally {
      provider.close();
    }
  });
});

describe('development certificate under concurrency', () => {
  it('gives every racing process the same matching key and certificate', async () => {
    const data = await mkdtemp(join(tmpdir(), 'yubin-tls-race-'));
    try {
      const config = loadConfig({ env: { YUBIN_DATA: data }, cwd: data });
      const results = await Promise.all(Array.from({ length: 4 }, () => ensureTlsFiles(config, nullLog)));
      expect(new Set(results.map((r) => r.certPath)).size).toBe(1);
      const provider = await createTlsProvider(results[0] as (typeof results)[0], nullLog);
      provider.close();
      expect((await readdir(join(data, 'tls'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
