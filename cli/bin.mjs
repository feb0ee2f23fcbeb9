#!/usr/bin/env node
// The `verdict` / `verdict-zkml` executable: loads tsx's TypeScript support from this package's own dependencies
// (so it works from any directory, and after a global or `npm ci --omit=dev` install), checks that the contract
// bindings exist, then runs cli/verdict.ts.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

const bindings = fileURLToPath(new URL("../types/ethers-contracts/index.ts", import.meta.url));
if (!existsSync(bindings)) {
  console.error(`error [NO_BINDINGS] the contract bindings (${bindings}) are missing\n  Try: npm run build:bindings (runs on npm install / npm ci; needs no dev dependency)`);
  process.exit(1);
}
register();
await import("./verdict.ts");
