#!/usr/bin/env node
// The npm registry reachable from our machines serves only linux-x64 builds of some platform packages (EDR's),
// so `npm install` leaves the other platforms' optional packages out of package-lock.json and `npm ci` then
// refuses the lock ("Missing: @nomicfoundation/edr-darwin-arm64 from lock file"). This adds each missing
// platform package with its os/cpu/libc, which is all `npm ci` needs to skip it on other platforms.
// Run after any `npm install` that rewrites the lock: `node tools/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, "utf8"));
const packages = lock.packages;
const PLATFORM = /-(darwin|linux|win32|freebsd)-(x64|arm64|ia32|arm)(?:-(gnu|musl|msvc))?$/;

let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    if (packages[`node_modules/${dep}`] || packages[`${path}/node_modules/${dep}`]) continue;
    const m = PLATFORM.exec(dep);
    if (!m) throw new Error(`${dep} (optional dependency of ${path}) is missing from the lock and is not a platform package`);
    const [, os, cpu, libc] = m;
    packages[`node_modules/${dep}`] = {
      version,
      cpu: [cpu],
      ...(meta.dev ? { dev: true } : {}),
      ...(libc === "gnu" ? { libc: ["glibc"] } : libc === "musl" ? { libc: ["musl"] } : {}),
      optional: true,
      os: [os],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform package entr${added === 1 ? "y" : "ies"}`);
