// The `verdict` CLI as users run it: real subprocesses (tsx cli/verdict.ts ...) against a `hardhat node` with the
// whole system deployed by Ignition and the demo models onboarded. Covers the operator, market and model
// registry command groups, model bundles pulled from `model serve`, their --json output, a decoded revert, and the
// help text of every group.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { REPO_ROOT } from "../../shared/paths.js";
import { DemoToken__factory, InferenceMarket__factory, ModelRegistry__factory } from "../../types/ethers-contracts/index.js";
import { bundlesDir, parseBundleUri } from "../../zk/runtime/bundle.js";
import { readInputRows } from "../../zk/build/circuit.js";
import { prove } from "../../zk/runtime/prover.js";
import { CLI, cliRunner } from "../fixtures/cli.js";
import { suiteStack } from "../fixtures/stack.js";

// Well-known `hardhat node` dev accounts (public test mnemonic). Account 1 is staked by deployLocalStack;
// account 3 starts with ETH but no tokens and holds no role.
const ACCOUNT1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ACCOUNT3_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
const ACCOUNT3 = { address: new Wallet(ACCOUNT3_KEY).address, key: ACCOUNT3_KEY };
const UNIT = 10n ** 18n;

/** Every file below `dir` (relative path) with its modification time. */
async function snapshot(dir: string): Promise<Record<string, number>> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
  return Object.fromEntries(await Promise.all(files.map(async (d) => [path.relative(dir, path.join(d.parentPath, d.name)), (await stat(path.join(d.parentPath, d.name))).mtimeMs] as const)));
}

describe("verdict CLI: operator, market, job, verify and model registry commands", function () {
  this.timeout(180_000);
  const local = suiteStack("cli");

  // Its data directory (VERDICT_HOME) is the test's own, never the user's.
  const { verdict, json } = cliRunner(() => ({ VERDICT_RPC_URL: local().chain.url, VERDICT_DEPLOYMENTS_DIR: local().stack.deploymentsDir, VERDICT_HOME: path.join(local().work, "cli-home") }));

  before(async () => {
    const { stack } = local();
    // Account 3 needs tokens to stake and bet; the deployer (account 0) owns the demo token.
    const [admin] = await stack.connection.ethers.getSigners();
    await (await DemoToken__factory.connect(stack.addresses.token, admin!).mint(ACCOUNT3.address, 50n * UNIT)).wait();
  });

  it("model list --json lists both demo models, active, with their layouts", async () => {
    const models = await json<{ id: string; status: string; verifierKind: string; inputs: string; outputs: string; uri: string }[]>(["model", "list"]);
    expect(models.map((m) => Number(m.id)).sort()).to.deep.equal(Object.values(local().stack.models).map((m) => m.modelId).sort());
    for (const m of models) {
      expect(m.status).to.equal("Active");
      expect(Number(m.inputs)).to.be.greaterThan(0);
      expect(Number(m.outputs)).to.be.greaterThan(0);
      expect(m.uri).to.match(/^file:\/\/.+\/(wine-classifier|diabetes-regressor)-[0-9a-f]{16}\/#sha256=[0-9a-f]{64}$/);
    }
    const one = await json<{ id: string; outputScale: string; vkHash: string }>(["model", "show", models[0]!.id]);
    expect(one.vkHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("operator status shows the stake deployLocalStack put up for account 1", async () => {
    const s = await json<{ operator: string; staked: string; freeStake: string; registered: boolean; jobsLocked: number }>(["operator", "status", ACCOUNT1]);
    expect(s.operator).to.equal(ACCOUNT1);
    expect(s.staked).to.equal("100.0 tokens");
    expect(s.freeStake).to.equal("100.0 tokens");
    expect(s.registered).to.equal(true);
    expect(s.jobsLocked).to.equal(0);
  });

  it("operator stake approves and stakes from a fresh account; status (default: the signer) shows it", async () => {
    const staked = await json<{ staked: string }>(["operator", "stake", "5"], ACCOUNT3.key);
    expect(staked.staked).to.equal("5.0 tokens");
    const s = await json<{ operator: string; staked: string }>(["operator", "status"], ACCOUNT3.key);
    expect(s).to.include({ operator: ACCOUNT3.address, staked: "5.0 tokens" });
  });

  it("market create, bet and show round-trip (question from the event, threshold back as a float)", async () => {
    const model = String(local().stack.models["wine-classifier"]!.modelId);
    const created = await json<{ marketId: string; threshold: number }>(["market", "create", "--model", model, "--output", "0", "--threshold", "0.5", "--betting-ends", "600", "--question", "Is it class 0?", "--provider", ACCOUNT3.address]);
    expect(created.threshold).to.equal(0.5);
    await json(["market", "bet", created.marketId, "yes", "2"], ACCOUNT3.key);
    const shown = await json<Record<string, unknown>>(["market", "show", created.marketId]);
    expect(shown).to.include({ marketId: created.marketId, question: "Is it class 0?", model, output: "0", threshold: 0.5, outcome: "Unresolved", bettingOpen: true, yesPool: "2.0 tokens", noPool: "0.0 tokens", job: "-" });
  });

  it("model deprecate by an account without MODEL_ADMIN_ROLE exits non-zero with the decoded revert", async () => {
    const r = await verdict(["model", "deprecate", String(local().stack.models["wine-classifier"]!.modelId)], ACCOUNT3.key);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/REVERTED/).and.match(/AccessControlUnauthorizedAccount/);
    const [m] = (await json<{ id: string; status: string }[]>(["model", "list"])).filter((x) => Number(x.id) === local().stack.models["wine-classifier"]!.modelId);
    expect(m!.status).to.equal("Active");
  });

  it("job create, status, result and verify: a job proven and fulfilled outside the CLI is re-verified by eth_call and natively", async () => {
    const { modelId, circuit } = local().stack.models["diabetes-regressor"]!;
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    const created = await json<{ jobId: string }>(["job", "create", "--model", String(modelId), "--input", JSON.stringify(row)]);
    expect((await json<{ status: string }>(["job", "status", created.jobId])).status).to.equal("Open");
    // Account 1 (staked) locks and fulfils with a real proof, as its operator service would.
    const [, operator] = await local().stack.connection.ethers.getSigners();
    const market = InferenceMarket__factory.connect(local().stack.addresses.market, operator!);
    await (await market.lock(created.jobId, await market.termsOf(created.jobId))).wait();
    const proof = await prove(circuit, row!);
    await (await market.fulfil(created.jobId, proof.proof, proof.instances)).wait();
    const result = await json<{ outputs: number[]; proofBytes: number }>(["job", "result", created.jobId]);
    expect(result.outputs).to.deep.equal(proof.outputs);
    expect(result.proofBytes).to.equal((proof.proof.length - 2) / 2);
    // A stranger's machine: an empty data directory. verify pulls the registered bundle (hash-checked) and
    // builds nothing: no SRS or key is written anywhere but the installed bundle, and the build cache is untouched.
    const cacheBefore = await snapshot(path.join(REPO_ROOT, ".cache"));
    const home = await mkdtemp(path.join(tmpdir(), "verdict-stranger-"));
    const verified = await json<{ ethCall: string; native: string; nativeMaxRssMb: string }>(["verify", created.jobId, "--home", home]);
    expect(verified).to.include({ ethCall: "valid", native: "valid" });
    expect(Number(verified.nativeMaxRssMb)).to.be.greaterThan(0);
    expect(await snapshot(path.join(REPO_ROOT, ".cache"))).to.deep.equal(cacheBefore);
    const registry = ModelRegistry__factory.connect(local().stack.addresses.registry, local().stack.connection.ethers.provider);
    const { folder } = parseBundleUri((await registry.model(modelId)).uri);
    const index = JSON.parse(await readFile(path.join(bundlesDir(home), folder, "bundle.json"), "utf8")) as { files: Record<string, unknown> };
    expect(Object.keys(await snapshot(home)).sort()).to.deep.equal([...Object.keys(index.files), "bundle.json"].map((f) => path.join("bundles", folder, f)).sort());
    await rm(home, { recursive: true, force: true });
  });

  it("model serve publishes the bundles; model pull --from fetches a registered model's bundle into a fresh home", async () => {
    const { modelId } = local().stack.models["wine-classifier"]!;
    const server = spawn(process.execPath, ["--import", "tsx", CLI, "model", "serve", bundlesDir(local().stack.publisher), "--port", "0"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        server.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]!);
        });
        server.on("exit", (code) => reject(new Error(`model serve exited ${code}: ${out}`)));
      });
      const home = await mkdtemp(path.join(tmpdir(), "verdict-second-machine-"));
      const pulled = await json<{ name: string; bundle: string; fetched: boolean; source: string }>(["model", "pull", String(modelId), "--from", url, "--home", home]);
      expect(pulled).to.include({ name: "wine-classifier", fetched: true });
      expect(pulled.source.startsWith(url)).to.equal(true);
      expect(existsSync(path.join(pulled.bundle, "pk.key"))).to.equal(true);
      expect((await json<{ fetched: boolean }>(["model", "pull", String(modelId), "--home", home])).fetched).to.equal(false);
      await rm(home, { recursive: true, force: true });
    } finally {
      server.kill();
    }
  });

  it("model build of a model with batch circuits registers each batch verifier next to it; model pull installs their bundles too", async () => {
    const built = await json<{ modelId: number; batches: { slots: number; batchId: number }[] }>(["model", "build", "models/spike"]);
    expect(built.batches.map((b) => b.slots)).to.deep.equal([4]);
    const batch = await ModelRegistry__factory.connect(local().stack.addresses.registry, local().stack.connection.ethers.provider).batch(built.batches[0]!.batchId);
    expect([Number(batch.baseModelId), Number(batch.slots), batch.revoked]).to.deep.equal([built.modelId, 4, false]);
    const home = await mkdtemp(path.join(tmpdir(), "verdict-batch-pull-"));
    expect(await json<{ batchSlots: string }>(["model", "pull", String(built.modelId), "--home", home])).to.include({ batchSlots: "4" });
    expect(existsSync(path.join(bundlesDir(home), parseBundleUri(batch.uri).folder, "pk.key"))).to.equal(true);
    await rm(home, { recursive: true, force: true });
  });

  it("model build refuses to register with the development SRS on a chain other than a local one (31337)", async () => {
    // A stand-in JSON-RPC node of chain 1: the refusal comes before any build or transaction.
    const node = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const calls = [JSON.parse(body)].flat() as { id: number; method: string }[];
        const answer = (c: { id: number; method: string }) => ({ jsonrpc: "2.0", id: c.id, result: c.method === "eth_accounts" ? [ACCOUNT1] : "0x1" });
        res.setHeader("content-type", "application/json").end(JSON.stringify(Array.isArray(JSON.parse(body)) ? calls.map(answer) : answer(calls[0]!)));
      });
    });
    await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = node.address() as { port: number };
      const r = await verdict(["model", "build", "models/spike", "--rpc", `http://127.0.0.1:${port}`]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.match(/DEV_SRS_REFUSED/).and.match(/chain 1 is not a local development chain/).and.match(/Try: pass a ceremony SRS file with --srs/);
    } finally {
      node.close();
    }
  });

  it("job create with an input of the wrong length exits 1 with INPUT_SHAPE_MISMATCH before sending anything", async () => {
    const r = await verdict(["job", "create", "--model", String(local().stack.models["wine-classifier"]!.modelId), "--input", "[1, 2]"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/INPUT_SHAPE_MISMATCH/).and.match(/takes 13 inputs, got 2/);
  });

  it("--help of each group exits 0 and shows an example", async () => {
    const results = await Promise.all(["operator", "relayer", "market", "model"].map((group) => verdict([group, "--help"])));
    for (const r of results) {
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/Examples?:\n\s+verdict /);
    }
  });
});
