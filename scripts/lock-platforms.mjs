#!/usr/bin/env node
// The npm registry reachable from this project's machines serves only the Linux builds of some
// native tool packages (Biome, Turbo). `npm install` then leaves the other platforms' optional
// dependencies out of package-lock.json, and `npm ci` refuses such a lock. This script adds the
// entries a full registry would have written — version plus os/cpu/libc constraints, so npm skips
// them on other platforms without fetching — and nothing else. Run it after changing dependencies:
//   npm install && node scripts/lock-platforms.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));

/** os/cpu/libc from the platform suffix used by these packages' names. */
function platformOf(name) {
  const suffix = name.split('/').pop().replace(/^cli-/, '');
  const musl = suffix.endsWith('-musl');
  const [os0, arch0] = suffix.replace(/-musl$/, '').split('-');
  const os = { win32: 'win32', windows: 'win32', darwin: 'darwin', linux: 'linux', android: 'android' }[os0];
  const cpu = { x64: 'x64', 64: 'x64', arm64: 'arm64' }[arch0];
  if (!os || !cpu) return undefined;
  return { os: [os], cpu: [cpu], ...(os === 'linux' ? { libc: [musl ? 'musl' : 'glibc'] } : {}) };
}

let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `${path ? `${path}/` : ''}node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (lock.packages[key] || lock.packages[hoisted]) continue;
    const platform = platformOf(dep);
    if (!platform) continue;
    lock.packages[hoisted] = { version, ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    added++;
  }
}
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platforms: added ${added} platform entries`);
