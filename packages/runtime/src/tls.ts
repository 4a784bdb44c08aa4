/**
 * TLS material for every listener: the configured certificate and key, or on the embedded default
 * a development certificate generated once into the data folder (self-signed for the hostname,
 * localhost, 127.0.0.1 and ::1). Reloaded on SIGHUP or when the files change, without dropping
 * sessions: new connections get the new context, established ones keep theirs.
 */

import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Config } from '@yubin/config';
import type { Log } from '@yubin/core';

/**
 * The development certificate and its key in one file, so that services starting at the same time
 * can never pair one process's key with another's certificate.
 */
export const DEV_BUNDLE_FILE = 'dev.pem';
/** RFC 8996 / RFC 8314 §4.1: TLS 1.2 is the minimum. */
export const MIN_TLS_VERSION = 'TLSv1.2';

export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  /** True when this is the generated development certificate. */
  readonly dev: boolean;
}

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The certificate to use; generates the development one on first start when none is configured. */
export async function ensureTlsFiles(config: Config, log: Log): Promise<TlsFiles> {
  if (config.tls.cert && config.tls.key)
    return { certPath: config.tls.cert, keyPath: config.tls.key, dev: false };
  const bundle = join(config.paths.tls, DEV_BUNDLE_FILE);
  const files: TlsFiles = { certPath: bundle, keyPath: bundle, dev: true };
  if (await exists(bundle)) return files;
  await mkdir(config.paths.tls, { recursive: true, mode: 0o700 });
  const names = [...new Set([config.hostname, 'localhost'])];
  // Loaded only to make the development certificate (its X.509 and ASN.1 libraries are large).
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: config.hostname }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 825 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  // Write privately, then link(): it fails if the name exists, so exactly one process's pair wins
  // and everyone else uses it (rename would let a later process replace it under a reader).
  const temp = `${bundle}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${pems.cert.trimEnd()}\n${pems.private.trimEnd()}\n`, { mode: 0o600 });
  try {
    await link(temp, bundle);
    log.info({ path: bundle, fingerprint: pems.fingerprint }, 'generated development tls certificate');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(temp).catch(() => {});
  }
  return files;
}

export interface TlsProvider {
  /** The current context, for servers that take one per connection. */
  context(): tls.SecureContext;
  /** The current PEM material, for servers that take key/cert options. */
  material(): TlsMaterial;
  /** Called after a successful reload. */
  onReload(listener: (material: TlsMaterial) => void): void;
  close(): void;
}

async function readMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const [key, cert] = await Promise.all([readFile(files.keyPath, 'utf8'), readFile(files.certPath, 'utf8')]);
  return { key, cert };
}

function makeContext(material: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext({ key: material.key, cert: material.cert, minVersion: MIN_TLS_VERSION });
}

/** Loads the files and keeps them fresh: SIGHUP or a change on disk reloads (a bad pair is logged and ignored). */
export async function createTlsProvider(files: TlsFiles, log: Log): Promise<TlsProvider> {
  let material = await readMaterial(files);
  let context = makeContext(material);
  const listeners: Array<(m: TlsMaterial) => void> = [];
  let timer: NodeJS.Timeout | undefined;

  const reload = async () => {
    try {
      const next = await readMaterial(files);
      if (next.key === material.key && next.cert === material.cert) return;
      const nextContext = makeContext(next);
      material = next;
      context = nextContext;
      log.info({ certPath: files.certPath }, 'tls certificate reloaded');
      for (const l of listeners) l(material);
    } catch (err) {
      log.error({ err, certPath: files.certPath }, 'tls certificate reload failed, keeping the old one');
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), 200);
  };
  const onHup = () => schedule();
  process.on('SIGHUP', onHup);
  const watchers = [files.certPath, files.keyPath].map((path) => {
    try {
      return watch(path, { persistent: false }, schedule);
    } catch {
      return undefined;
    }
  });

  return {
    context: () => context,
    material: () => material,
    onReload: (listener) => listeners.push(listener),
    close() {
      clearTimeout(timer);
      process.off('SIGHUP', onHup);
      for (const w of watchers) w?.close();
    },
  };
}
