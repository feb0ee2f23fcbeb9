// Relayer capacity on automine, 2 s and 12 s blocks: per scenario, N jobs are posted and locked (on automine, so the
// set-up is quick), the chain is switched to the scenario's mining, and N operator-signed fulfilments (one real
// proof of the smallest model) are handed to one relayer process at once, as operators would. Measured: fulfilments
// settled per second (first request enqueued -> last outcome published), relay transactions and batches per block,
// nonce errors, and the relayer's RPC requests per fulfilment, counted by a fault proxy that injects nothing.
// The relayer trusts the operator (relayer.trustedOperators: an operator's own relayer), so fulfilments go
// unsimulated; --untrusted measures a relayer that simulates every request (report: relayer-untrusted.*).
//   tsx bench/relayer.ts [--txs 1000] [--blocks 0,2000,12000] [--untrusted]   (block times in ms; 0 = automine)
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { JsonRpcProvider } from "ethers";
import { Redis } from "ioredis";
import { withLocalStack } from "../infra/localStack.js";
import { counterValue, postBurst } from "../infra/load.js";
import { startRpcFaultProxy } from "../infra/rpcFaultProxy.js";
import { round } from "../infra/stats.js";
import { stackEnv, startRelayerAndOperators } from "../infra/verdictService.js";
import { fulfilRequest } from "../operator/signing.js";
import { configSchema } from "../shared/config.js";
import { REPO_ROOT } from "../shared/paths.js";
import { RELAYER_QUEUE } from "../shared/queues.js";
import { relayOutcomeKey } from "../relayer/store.js";
import { relayJobId, type RelayOutcome, type RelayRequest } from "../relayer/types.js";
import { InferenceMarket__factory } from "../types/ethers-contracts/index.js";
import { readInputRows } from "../zk/build/circuit.js";
import { prove } from "../zk/runtime/prover.js";
import { isMain, machineInfo, type MachineInfo } from "./machine.js";

export interface RelayerScenario {
  /** 0: automine (a block per transaction). */
  block_time_s: number;
  fulfilments: number;
  mined: number;
  /** Fulfilments settled (outcome published at the confirmation depth) per second, from the first enqueue. */
  fulfilments_per_s: number;
  wall_s: number;
  /** Relay transactions sent (each a fulfilBatch or a lone fulfilWithSignature). */
  transactions: number;
  mean_batch_size: number;
  /** Relay transactions per block, over the blocks that hold any. */
  batches_per_block: number;
  blocks: number;
  nonce_errors: number;
  dropped: number;
  replaced: number;
  gas_per_fulfilment: number;
  rpc_requests: number;
  rpc_requests_per_fulfilment: number;
  rpc_requests_by_method: Record<string, number>;
}

export interface RelayerCapacity {
  /** Fulfilments per scenario. */
  txs: number;
  /** Whether the relayer trusts the operator (sends its fulfilments without simulating them). */
  trusted_operator: boolean;
  keys: number;
  concurrency: number;
  batch_window_ms: number;
  scenarios: RelayerScenario[];
  /** The automine scenario's figures, for the summary line. */
  relayer_tx_per_s: number;
  relayer_nonce_errors: number;
  machine: MachineInfo;
}

const MODEL = "diabetes-regressor";
const PREFIX = "relaybench";

export async function benchRelayer(opts: { txs: number; blockTimesMs?: number[]; trusted?: boolean; log?: (line: string) => void }): Promise<RelayerCapacity> {
  const trusted = opts.trusted ?? true;
  const log = opts.log ?? (() => undefined);
  const blockTimes = opts.blockTimesMs ?? [0, 2000, 12_000];
  const machine = machineInfo();
  return withLocalStack("relayer", log, async (run) => {
    const { redis, chain, stack, services } = run;
    const { ethers } = stack.connection;
    const signers = await ethers.getSigners();
    const [operator, requester] = [signers[1]!, signers[3]!];
    const market = InferenceMarket__factory.connect(stack.addresses.market, requester);
    const { modelId, circuit } = stack.models[MODEL]!;
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    const proof = await prove(circuit, row!);
    const input = proof.instances.slice(0, circuit.inputs.count);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    // The bench's own reads and mining switches go straight to the node; only the relayer's go through the proxy.
    const node = new JsonRpcProvider(chain.url, chainId, { staticNetwork: true });
    const rpc = await startRpcFaultProxy(chain.url);
    services.push({ name: "rpc proxy", port: rpc.port, url: rpc.url, stop: () => rpc.close() });

    const env = { ...stackEnv(run, PREFIX, rpc.url), ...(trusted ? { VERDICT_RELAYER_TRUSTED_OPERATORS: operator.address } : {}) };
    const { relayer } = await startRelayerAndOperators(run, env, []);
    const metrics = async () => (await fetch(`${relayer.url}/metrics`)).text();
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<RelayRequest>(RELAYER_QUEUE, { connection: client, prefix: PREFIX });
    const relayerAddress = signers[4]!.address.toLowerCase(); // DEV_KEYS.relayer, the key startRelayerAndOperators gives it

    const scenarios: RelayerScenario[] = [];
    for (const blockMs of blockTimes) {
      // Set-up on automine: N jobs posted and locked by the operator (consecutive nonces, receipts awaited after).
      await node.send("evm_setIntervalMining", [0]);
      await node.send("evm_setAutomine", [true]);
      const { jobIds } = await postBurst(market, opts.txs, () => ({ modelId, input, lockTimeout: 3600n }));
      let nonce = await ethers.provider.getTransactionCount(operator, "pending");
      const locks = [];
      for (const id of jobIds) locks.push(await market.connect(operator).lock(id, await market.termsOf(id), { nonce: nonce++, gasLimit: 200_000 }));
      await Promise.all(locks.map((tx) => tx.wait()));
      const requests: RelayRequest[] = [];
      for (const id of jobIds) requests.push(await fulfilRequest(operator, chainId, stack.addresses.market, id.toString(), proof.proof, proof.instances.map(String)));
      log(`${opts.txs} jobs posted, locked and their fulfilments signed; relaying at ${blockMs ? `${blockMs / 1000} s blocks` : "automine"}`);
      if (blockMs) {
        await node.send("evm_setAutomine", [false]);
        await node.send("evm_setIntervalMining", [blockMs]);
      }

      const before = { metrics: await metrics(), rpc: rpc.stats().requests, block: await node.getBlockNumber() };
      const t0 = performance.now();
      // Enqueued as the operator does (sendToRelayer's options), all at once.
      await queue.addBulk(requests.map((r) => ({ name: r.kind, data: r, opts: { jobId: relayJobId(r), attempts: 5, backoff: { type: "exponential", delay: 1000 } } })));
      const keys = requests.map((r) => relayOutcomeKey(PREFIX, relayJobId(r)));
      let outcomes: RelayOutcome[] = [];
      const progress = setInterval(() => log(`  ${outcomes.length}/${opts.txs} settled after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 15_000);
      for (;;) {
        outcomes = (await client.mget(keys)).filter((v): v is string => v !== null).map((v) => JSON.parse(v) as RelayOutcome);
        if (outcomes.length === keys.length) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      clearInterval(progress);
      const wall_s = (performance.now() - t0) / 1000;
      const after = { metrics: await metrics(), rpc: rpc.stats().requests, block: await node.getBlockNumber() };

      const delta = (name: string) => counterValue(after.metrics, `verdict_${name}`) - counterValue(before.metrics, `verdict_${name}`);
      const byMethod: Record<string, number> = {};
      for (const [m, n] of Object.entries(after.rpc)) if (n - (before.rpc[m] ?? 0) > 0) byMethod[m] = n - (before.rpc[m] ?? 0);
      const rpcRequests = Object.values(byMethod).reduce((a, b) => a + b, 0);
      // Relay transactions per block, from the blocks themselves.
      const perBlock: number[] = [];
      for (let b = before.block + 1; b <= after.block; b++) {
        const block = await node.getBlock(b, true);
        const ours = block?.prefetchedTransactions.filter((t) => t.from.toLowerCase() === relayerAddress).length ?? 0;
        if (ours > 0) perBlock.push(ours);
      }
      const transactions = perBlock.reduce((a, b) => a + b, 0);
      const mined = outcomes.filter((o) => o.status === "mined").length;
      scenarios.push({
        block_time_s: blockMs / 1000,
        fulfilments: opts.txs,
        mined,
        fulfilments_per_s: round(mined / wall_s, 2),
        wall_s: round(wall_s, 1),
        transactions,
        mean_batch_size: round(mined / Math.max(1, transactions), 1),
        batches_per_block: round(transactions / Math.max(1, perBlock.length), 2),
        blocks: perBlock.length,
        nonce_errors: delta("relayer_nonce_errors_total"),
        dropped: delta("relayer_tx_dropped_total"),
        replaced: delta("relayer_tx_replaced_total"),
        gas_per_fulfilment: Math.round(delta("relayer_gas_used_total") / Math.max(1, mined)),
        rpc_requests: rpcRequests,
        rpc_requests_per_fulfilment: round(rpcRequests / opts.txs, 2),
        rpc_requests_by_method: byMethod,
      });
      log(`  ${JSON.stringify(scenarios.at(-1))}`);
      const fulfilled = await market.queryFilter(market.filters.JobFulfilled(), before.block + 1);
      if (fulfilled.length !== opts.txs) throw new Error(`${fulfilled.length} of ${opts.txs} jobs fulfilled`);
    }
    await queue.close();
    client.disconnect();
    node.destroy();
    const config = configSchema.parse({}).relayer;
    const automine = scenarios.find((s) => s.block_time_s === 0) ?? scenarios[0]!;
    return {
      txs: opts.txs,
      trusted_operator: trusted,
      keys: 1,
      concurrency: config.concurrency,
      batch_window_ms: config.batchWindowMs,
      scenarios,
      relayer_tx_per_s: automine.fulfilments_per_s,
      relayer_nonce_errors: scenarios.reduce((a, s) => a + s.nonce_errors, 0),
      machine,
    };
  });
}

/** The report's section, in Markdown. */
export function relayerMarkdown(r: RelayerCapacity): string[] {
  const rows = r.scenarios.map(
    (s) =>
      `| ${s.block_time_s === 0 ? "automine" : `${s.block_time_s} s`} | ${s.mined}/${s.fulfilments} | ${s.fulfilments_per_s} | ${s.transactions} | ${s.mean_batch_size} | ${s.batches_per_block} | ${s.nonce_errors} | ${s.replaced} | ${s.dropped} | ${s.rpc_requests_per_fulfilment} | ${s.gas_per_fulfilment.toLocaleString("en-US")} | ${s.wall_s} |`,
  );
  return [
    `## Relayer capacity: ${r.txs} signed fulfilments handed to one relayer at once (${r.keys} key, concurrency ${r.concurrency}, batch window ${r.batch_window_ms} ms; ${r.trusted_operator ? "trusting the operator: fulfilments unsimulated" : "every request simulated"})`,
    ``,
    `| blocks | mined | fulfilments/s | transactions | items per tx | relay txs per block | nonce errors | replaced | dropped | RPC requests per fulfilment | gas per fulfilment | wall (s) |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
    ...rows,
    ``,
  ];
}

/** Writes bench/results/relayer.json and relayer.md (relayer-untrusted.* for a relayer that trusts no operator). */
export async function writeRelayerReport(result: RelayerCapacity): Promise<void> {
  const dir = path.join(REPO_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const name = result.trusted_operator ? "relayer" : "relayer-untrusted";
  await writeFile(path.join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const m = result.machine;
  const blocks = result.scenarios.map((s) => s.block_time_s * 1000).join(",");
  const md = [
    `# Relayer bench`,
    ``,
    `\`tsx bench/relayer.ts --txs ${result.txs} --blocks ${blocks}${result.trusted_operator ? "" : " --untrusted"}\` on ${m.cpuModel} (${m.cores} cores, ${m.memoryGb} GiB, load ${m.loadAverage1m} at start), ${m.platform}, Node ${m.node}.`,
    ``,
    ...relayerMarkdown(result),
  ];
  await writeFile(path.join(dir, `${name}.md`), `${md.join("\n")}\n`);
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { txs: { type: "string", default: "1000" }, blocks: { type: "string", default: "0,2000,12000" }, untrusted: { type: "boolean", default: false } } });
  process.env.VERDICT_QUIET ??= "1";
  const result = await benchRelayer({ txs: Number(values.txs), blockTimesMs: values.blocks.split(",").map(Number), trusted: !values.untrusted, log: (l) => console.log(`\x1b[36m[relayer]\x1b[0m ${l}`) });
  await writeRelayerReport(result);
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
