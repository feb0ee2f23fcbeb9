// Relayer capacity: N operator-signed fulfilments (one real proof of the smallest model, N locked jobs with its
// input) handed to one relayer process at once, as operators would; measures how many transactions per second
// the relayer lands and its nonce errors. Unlike the load run, proving does not pace the relayer here.
//   tsx bench/relayer.ts [--txs 1000]
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { withLocalStack } from "../infra/localStack.js";
import { stackEnv, startRelayerAndOperators } from "../infra/verdictService.js";
import { fulfilRequest } from "../operator/signing.js";
import { configSchema } from "../shared/config.js";
import { REPO_ROOT } from "../shared/paths.js";
import { RELAYER_QUEUE } from "../shared/queues.js";
import { relayJobId, type RelayRequest } from "../relayer/types.js";
import { InferenceMarket__factory } from "../types/ethers-contracts/index.js";
import { readInputRows } from "../zk/build/circuit.js";
import { prove } from "../zk/runtime/prover.js";
import { isMain } from "./machine.js";
import { counterValue, postBurst } from "../infra/load.js";
import { round } from "../infra/stats.js";

export interface RelayerCapacity {
  txs: number;
  /** Fulfilments mined / (first request enqueued -> last mined). */
  relayer_tx_per_s: number;
  relayer_nonce_errors: number;
  relayer_dropped: number;
  relayer_replaced: number;
  wall_s: number;
  gas_per_tx: number;
  concurrency: number;
}

const MODEL = "diabetes-regressor";

export async function benchRelayer(opts: { txs: number; log?: (line: string) => void }): Promise<RelayerCapacity> {
  const log = opts.log ?? (() => undefined);
  return withLocalStack("relayer", log, async (run) => {
    const { redis, stack } = run;
    const { ethers } = stack.connection;
    const signers = await ethers.getSigners();
    const [operator, requester] = [signers[1]!, signers[3]!];
    const market = InferenceMarket__factory.connect(stack.addresses.market, requester);
    const { modelId, circuit } = stack.models[MODEL]!;
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    const proof = await prove(circuit, row!);
    const input = proof.instances.slice(0, circuit.inputs.count);

    // N jobs with the proof's input, each locked by the operator (consecutive nonces, receipts awaited after).
    const { jobIds } = await postBurst(market, opts.txs, () => ({ modelId, input, lockTimeout: 3600n }));
    let nonce = await ethers.provider.getTransactionCount(operator, "pending");
    const locks = [];
    for (const id of jobIds) locks.push(await market.connect(operator).lock(id, await market.termsOf(id), { nonce: nonce++, gasLimit: 200_000 }));
    await Promise.all(locks.map((tx) => tx.wait()));
    log(`${opts.txs} jobs posted and locked; signing ${opts.txs} fulfilments`);
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const requests: RelayRequest[] = [];
    for (const id of jobIds) {
      requests.push(await fulfilRequest(operator, chainId, stack.addresses.market, id.toString(), proof.proof, proof.instances.map(String)));
    }

    const prefix = "relaybench";
    const { relayer } = await startRelayerAndOperators(run, stackEnv(run, prefix), []);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<RelayRequest>(RELAYER_QUEUE, { connection: client, prefix });
    const eventsClient = new Redis(redis.url, { maxRetriesPerRequest: null });
    const events = new QueueEvents(RELAYER_QUEUE, { connection: eventsClient, prefix });
    await events.waitUntilReady();
    let finished = 0;
    const allDone = new Promise<void>((resolve) => {
      const count = () => ++finished >= opts.txs && resolve();
      events.on("completed", count);
      events.on("failed", count);
    });
    const t0 = performance.now();
    // Enqueued as the operator does (relayAndWait's options), all at once.
    await queue.addBulk(requests.map((r) => ({ name: r.kind, data: r, opts: { jobId: relayJobId(r), attempts: 5, backoff: { type: "exponential", delay: 1000 } } })));
    const progress = setInterval(() => log(`relayed ${finished}/${opts.txs} after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 10_000);
    await allDone;
    clearInterval(progress);
    const wall_s = (performance.now() - t0) / 1000;
    const metrics = await (await fetch(`${relayer.url}/metrics`)).text();
    await events.close();
    await queue.close();
    eventsClient.disconnect();
    client.disconnect();
    const mined = counterValue(metrics, "verdict_relayer_tx_mined_total");
    const fulfilled = await market.queryFilter(market.filters.JobFulfilled());
    if (fulfilled.length !== opts.txs) throw new Error(`${fulfilled.length} of ${opts.txs} jobs fulfilled`);
    return {
      txs: opts.txs,
      relayer_tx_per_s: round(mined / wall_s, 2),
      relayer_nonce_errors: counterValue(metrics, "verdict_relayer_nonce_errors_total"),
      relayer_dropped: counterValue(metrics, "verdict_relayer_tx_dropped_total"),
      relayer_replaced: counterValue(metrics, "verdict_relayer_tx_replaced_total"),
      wall_s: round(wall_s, 1),
      gas_per_tx: Math.round(counterValue(metrics, "verdict_relayer_gas_used_total") / mined),
      concurrency: configSchema.parse({}).relayer.concurrency,
    };
  });
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { txs: { type: "string", default: "1000" } } });
  process.env.VERDICT_QUIET ??= "1";
  const result = await benchRelayer({ txs: Number(values.txs), log: (l) => console.log(`\x1b[36m[relayer]\x1b[0m ${l}`) });
  await mkdir(path.join(REPO_ROOT, "bench", "results"), { recursive: true });
  await writeFile(path.join(REPO_ROOT, "bench", "results", "relayer.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
