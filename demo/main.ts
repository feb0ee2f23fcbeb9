// `make demo`: the whole product on a laptop. A local chain and Redis on free loopback ports, the contracts
// deployed by Ignition, both demo models onboarded, two staked operators and a relayer as separate processes, a
// prediction market settled by a verified inference, live progress, a summary table, and a clean stop.
//   make demo                  run once and stop everything
//   make demo ARGS=--keep      leave everything running (prints the URLs) until Ctrl-C
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import getPort from "get-port";
import ora from "ora";
import { startDashboard } from "../dashboard/server.js";
import { DEV_KEYS, startLocalStack, type StackRun } from "../infra/localStack.js";
import { stackEnv, startRelayerAndOperators } from "../infra/verdictService.js";
import { DemoToken__factory, IHalo2Verifier__factory, InferenceMarket__factory, ModelRegistry__factory, PredictionMarket__factory } from "../types/ethers-contracts/index.js";
import { readInputRows } from "../zk/build/circuit.js";
import { floatToFelt } from "../zk/runtime/felt.js";
import { decodeFulfilment } from "../sdk/fulfilment.js";
import { VerdictClient } from "../sdk/index.js";

const { values: flags } = parseArgs({ options: { keep: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } });
if (flags.help) {
  console.log("usage: make demo [ARGS=--keep]\n  --keep  leave chain, Redis, operators and relayer running (dashboard URLs printed) until Ctrl-C");
  process.exit(0);
}

const UNIT = 10n ** 18n;
const PRICE = 10n ** 15n;

function step(msg: string): void {
  console.log(`\x1b[36m[demo]\x1b[0m ${msg}`);
}

interface LogLine {
  msg: string;
  time: number;
  /** The operator's log file it came from. */
  source?: string;
  jobId?: string;
  seconds?: number;
  proofBytes?: number;
  gasUsed?: string;
}

/** Pipeline events the operators logged, per job id (pino JSON lines). */
async function operatorEvents(work: string): Promise<Map<string, LogLine[]>> {
  const byJob = new Map<string, LogLine[]>();
  for (const file of ["operator-a.log", "operator-b.log"]) {
    const text = await readFile(path.join(work, file), "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      const e = { ...(JSON.parse(line) as LogLine), source: file };
      if (e.jobId) byJob.set(e.jobId, [...(byJob.get(e.jobId) ?? []), e]);
    }
  }
  return byJob;
}

async function main(run: StackRun): Promise<void> {
  const { redis, chain, stack, work } = run;
  step(`redis ${redis.url} (AOF) · chain ${chain.url} · logs in ${work}`);
  const { ethers } = stack.connection;
  const [admin, , , bettorA, bettorB, dataProvider] = await ethers.getSigners();
  const market = InferenceMarket__factory.connect(stack.addresses.market, admin!);
  const pm = PredictionMarket__factory.connect(stack.addresses.predictionMarket, admin!);
  const token = DemoToken__factory.connect(stack.addresses.token, admin!);
  const registry = ModelRegistry__factory.connect(stack.addresses.registry, admin!);

  const spinner = ora("starting relayer and two operators").start();
  // The relayer serves /metrics, /healthz and bull-board (/queues) for the demo's queues.
  const { relayer } = await startRelayerAndOperators(run, stackEnv(run, "demo"));
  spinner.succeed("relayer and two operators running (separate processes)");

  // A prediction market on the wine classifier: YES if the next wine sample is cultivar 2 (its logit >= 0). At
  // creation it commits to the model, the output rule, the data provider that will publish the sample after
  // betting closes, and its job's price and collateral; nobody knows the sample while betting.
  const wine = stack.models["wine-classifier"]!;
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const marketParams = { modelId: wine.modelId, outputIndex: 2, threshold: 0n, bettingEnds: now + 60, provider: dataProvider!.address, inputWindow: 1800n, jobPrice: PRICE, jobCollateral: UNIT, lockTimeout: 600n, timeout: 1800n };
  await (await pm.createMarket(marketParams, "Is the next wine sample cultivar 2?", { value: PRICE })).wait();
  for (const [who, yes, amount] of [[bettorA!, true, 30n], [bettorB!, false, 20n]] as const) {
    await (await token.mint(who, amount * UNIT)).wait();
    await (await token.connect(who).approve(pm, amount * UNIT)).wait();
    await (await pm.connect(who).bet(1n, yes, amount * UNIT)).wait();
  }
  step(`prediction market #1 'Is the next wine sample cultivar 2?' (input from data provider ${dataProvider!.address}): 30 VDT on YES, 20 VDT on NO; betting closes`);
  await ethers.provider.send("evm_increaseTime", [120]);
  await ethers.provider.send("evm_mine", []);

  // Jobs: the market's question, plus one job per demo model, posted by a requester through the SDK (floats in,
  // checked against what the model's circuit can take, encoded to felts; the price escrowed).
  const requester = await VerdictClient.connect({ rpcUrl: chain.url, privateKey: DEV_KEYS.requester, deploymentsDir: stack.deploymentsDir, home: stack.home });
  run.services.push({ name: "sdk client", port: 0, url: chain.url, stop: async () => requester.close() });
  const post = async (model: string): Promise<bigint> => {
    const { modelId, circuit } = stack.models[model]!;
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    return (await requester.createJob({ modelId, input: row!, price: PRICE, collateral: UNIT, lockTimeout: 600, timeout: 1800 })).jobId;
  };
  const posted = performance.now();
  // The data provider publishes the new sample only now, after betting closed; the market posts its own job on it.
  const sample = await readInputRows(path.join(wine.circuit.spec.dir, wine.circuit.spec.sample), wine.circuit.inputs.count, "sample");
  await (await pm.connect(dataProvider!).postInput(1n, sample[0]!.map((v) => floatToFelt(v, wine.circuit.inputs.scale)))).wait();
  const marketJob = (await pm.marketOf(1n)).jobId;
  step(`data provider published the wine sample after betting closed; the market posted job ${marketJob}`);
  const jobs = [marketJob, await post("diabetes-regressor"), await post("wine-classifier"), await post("digits-cnn")];
  step(`posted jobs ${jobs.join(", ")} (0.001 ETH each, escrowed)`);

  const progress = ora("waiting for operators").start();
  const seen = new Set<string>();
  for (;;) {
    const statuses = await Promise.all(jobs.map(async (id) => Number((await market.jobOf(id)).status)));
    for (const [id, events] of await operatorEvents(work)) {
      for (const e of events) {
        const key = `${id}:${e.msg}`;
        if (seen.has(key) || !["taking job", "locked", "proving", "proved", "fulfilled and paid"].includes(e.msg)) continue;
        seen.add(key);
        progress.text = `job ${id}: ${e.msg}${e.seconds ? ` in ${e.seconds}s` : ""}`;
        progress.stopAndPersist({ symbol: "  ·", text: progress.text }).start("proving and settling");
      }
    }
    if (statuses.every((s) => s === 3)) break;
    if (performance.now() - posted > 180_000) throw new Error(`jobs not settled after 180 s (statuses ${statuses.join(",")}; logs in ${work})`);
    await new Promise((r) => setTimeout(r, 300));
  }
  progress.succeed(`all ${jobs.length} jobs verified on-chain and paid in ${((performance.now() - posted) / 1000).toFixed(1)} s`);

  const m = await pm.marketOf(1n);
  const { outputs } = await requester.result(marketJob);
  step(`market resolved by the callback: ${Number(m.outcome) === 1 ? "YES" : "NO"} (cultivar-2 logit ${outputs[2]!.toFixed(3)})`);
  for (const id of jobs.slice(1)) {
    const { outputs: out } = await requester.waitForResult(id);
    const { valid } = await requester.verify(id);
    step(`job ${id}: outputs [${out.map((v) => v.toFixed(3)).join(", ")}], re-verified by the SDK from chain data: ${valid ? "valid" : "INVALID"}`);
  }
  for (const who of [bettorA!, bettorB!]) {
    const before = await token.balanceOf(who);
    const claim = await pm.connect(who).claim(1n).then((tx) => tx.wait()).catch(() => undefined);
    step(`  ${who.address.slice(0, 10)}… ${claim ? `claimed ${ethers.formatEther((await token.balanceOf(who)) - before)} VDT` : "lost its stake"}`);
  }

  // Summary: latency by stage from the operators' logs, gas from the receipts, verification asymmetry. An
  // operator logs "fulfilled and paid" just after the chain shows it, so give the logs a moment to catch up.
  let events = await operatorEvents(work);
  for (let i = 0; i < 50 && !jobs.every((id) => events.get(id.toString())?.some((e) => e.msg === "fulfilled and paid")); i++) {
    await new Promise((r) => setTimeout(r, 200));
    events = await operatorEvents(work);
  }
  const fulfilled = await market.queryFilter(market.filters.JobFulfilled());
  const locked = await market.queryFilter(market.filters.JobLocked());
  const rows: Record<string, Record<string, string | number>> = {};
  for (const id of jobs) {
    // Timed on the operator that settled the job: the other one took it too, and lost the lock race.
    const all = events.get(id.toString()) ?? [];
    const winner = all.find((e) => e.msg === "fulfilled and paid")?.source;
    const ev = all.filter((e) => e.source === winner);
    const at = (msg: string) => ev.find((e) => e.msg === msg)?.time ?? Number.NaN;
    const proved = ev.find((e) => e.msg === "proved");
    const job = await market.jobOf(id);
    const model = Object.entries(stack.models).find(([, v]) => BigInt(v.modelId) === job.modelId)![0];
    const fulfilTx = fulfilled.find((e) => e.args.jobId === id)!;
    const lockTx = locked.find((e) => e.args.jobId === id)!;
    const [fulfilReceipt, lockReceipt, tx] = await Promise.all([fulfilTx.getTransactionReceipt(), lockTx.getTransactionReceipt(), fulfilTx.getTransaction()]);
    const auth = decodeFulfilment(tx.data, id)!;
    const [verifierAddress] = await registry.layout(job.modelId);
    const verifier = IHalo2Verifier__factory.connect(verifierAddress, ethers.provider);
    const t0 = performance.now();
    await verifier.verifyProof.staticCall(auth.proof, auth.instances);
    const verifySeconds = (performance.now() - t0) / 1000;
    const verifierGas = await verifier.verifyProof.estimateGas(auth.proof, auth.instances);
    rows[`job ${id}`] = {
      model,
      // Proving starts once the lock is on-chain and seen (by the lock stage or the watcher, whichever is first).
      "lock (s)": ((at("proving") - at("taking job")) / 1000).toFixed(2),
      "infer+prove (s)": ((at("proved") - at("proving")) / 1000).toFixed(2),
      "verify+submit (s)": ((at("fulfilled and paid") - at("proved")) / 1000).toFixed(2),
      "proof (B)": proved?.proofBytes ?? "",
      "verifier gas": Number(verifierGas),
      "lock+fulfil gas": Number(lockReceipt!.gasUsed + fulfilReceipt!.gasUsed),
      asymmetry: `${((proved?.seconds ?? 0) / verifySeconds).toFixed(0)}x`,
    };
  }
  console.log("\nPer job (asymmetry = prove time / eth_call verification time of the same proof):");
  console.table(rows);

  if (flags.keep) {
    const port = await getPort({ host: "127.0.0.1" });
    const dashboard = await startDashboard({ rpcUrl: chain.url, deploymentsDir: stack.deploymentsDir, port });
    run.services.push({ name: "dashboard", port, url: dashboard.url, stop: dashboard.close });
    step(`dashboard ${dashboard.url} · bull-board ${relayer.url}/queues`);
    step(`running until Ctrl-C: chain ${chain.url}, redis ${redis.url}, logs ${work}`);
    step(`try: VERDICT_RPC_URL=${chain.url} VERDICT_DEPLOYMENTS_DIR=${stack.deploymentsDir} npx verdict job result ${marketJob}`);
    await new Promise(() => undefined);
  }
}

let run: StackRun | undefined;
try {
  run = await startLocalStack("demo", { durableRedis: true, log: step, exitOnSignal: true });
  await main(run);
} catch (e) {
  console.error(`\x1b[31m[demo] failed:\x1b[0m ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  await run?.stop();
}
