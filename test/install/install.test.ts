// A production install: the tracked sources copied to a temporary folder, `npm ci --omit=dev` (whose `prepare`
// step builds the contract bindings with runtime dependencies only), then the relayer and an operator started
// from that folder against a local chain and Redis until each reports ready, and the CLI run from elsewhere.
// It needs the npm registry (or a warm npm cache) and ~2 minutes.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DEV_KEYS, operatorEnv, withLocalStack } from "../../infra/localStack.js";
import { startService } from "../../infra/service.js";
import { REPO_ROOT } from "../../shared/paths.js";

const run = promisify(execFile);

/** Copies the files git tracks (and new, not ignored ones) to `dir`: what a fresh checkout holds. */
async function copySources(dir: string): Promise<void> {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
  for (const file of stdout.split("\0").filter(Boolean)) {
    const from = path.join(REPO_ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await cp(from, path.join(dir, file), { dereference: false });
  }
}

describe("production install: npm ci --omit=dev, then the services start from it", function () {
  this.timeout(900_000);

  it("npm ci --omit=dev installs no dev dependency, builds the bindings, and the relayer and operator start from the install until ready", async () => {
    // VERDICT_INSTALLED_DIR: an install made beforehand the same way (skips the copy and npm ci; kept afterwards).
    const given = process.env.VERDICT_INSTALLED_DIR;
    const dir = given ?? (await mkdtemp(path.join(tmpdir(), "verdict-install-")));
    try {
      if (!given) {
        await copySources(dir);
        await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], { cwd: dir, maxBuffer: 64 << 20, timeout: 600_000 });
      }
      expect(existsSync(path.join(dir, "node_modules", "mocha")), "a dev dependency was installed").to.equal(false);
      expect(existsSync(path.join(dir, "node_modules", "@nomicfoundation", "hardhat-toolbox-mocha-ethers"))).to.equal(false);
      expect(existsSync(path.join(dir, "types", "ethers-contracts", "index.ts")), "prepare did not build the bindings").to.equal(true);
      const help = await run(process.execPath, [path.join(dir, "cli", "bin.mjs"), "--help"], { cwd: tmpdir() });
      expect(help.stdout).to.match(/Exit codes:/);

      await withLocalStack("install", () => undefined, async ({ redis, chain, stack, work, services }) => {
        const env = {
          ...process.env,
          VERDICT_RPC_URL: chain.url,
          VERDICT_REDIS_URL: redis.url,
          VERDICT_DEPLOYMENTS_DIR: stack.deploymentsDir,
          VERDICT_QUEUE_PREFIX: "install",
          // The prover's Python (ezkl) is not an npm dependency: `make setup` creates it; point at this checkout's.
          VERDICT_PYTHON: path.join(REPO_ROOT, ".venv", "bin", "python"),
          ...operatorEnv(stack),
        };
        const loader = path.join(dir, "node_modules", "tsx", "dist", "loader.mjs");
        for (const [kind, key] of [["relayer", DEV_KEYS.relayer], ["operator", DEV_KEYS.operators[0]!]] as const) {
          services.push(
            await startService({
              name: kind,
              command: process.execPath,
              args: ["--import", loader, path.join(dir, kind, "main.ts")],
              cwd: dir,
              port: 0,
              url: "",
              env: { ...env, VERDICT_KEY: key },
              logFile: path.join(work, `${kind}.log`),
              ready: async (output) => {
                if (!output.includes(`"msg":"${kind} ready"`)) throw new Error(`${kind} not ready yet`);
              },
            }),
          );
        }
        const models = await run(process.execPath, [path.join(dir, "cli", "bin.mjs"), "model", "list", "--json"], { cwd: tmpdir(), env });
        expect((JSON.parse(models.stdout) as unknown[]).length).to.equal(Object.keys(stack.models).length);
      });
    } finally {
      if (!given) await rm(dir, { recursive: true, force: true });
    }
  });
});
