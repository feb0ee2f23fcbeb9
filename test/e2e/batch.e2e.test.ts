// End to end (issue 13): a real operator process serving the spike model and its 4-slot batch circuit (onboarded
// with registerBatch, both bundles pulled into the operator's data directory), a real relayer, `hardhat node`
// mining a block a second. Three jobs posted together are proven with one real batch proof and settled by one
// fulfilBatchProof transaction, each with its own outputs; a lone job later waits out the window and is proven
// alone with the single circuit.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { withLocalStack } from "../../infra/localStack.js";
import { stackEnv, startRelayerAndOperators } from "../../infra/verdictService.js";
import { InferenceMarket__factory, type InferenceMarket } from "../../types/ethers-contracts/index.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { prove } from "../../zk/runtime/prover.js";
import { e2eJobRequest } from "../fixtures/e2e.js";

/** Inputs inside the spike model's calibrated range (test/integration/batch.ezkl.test.ts proves them too). */
const ROWS = [
  [0.5, -1, 0.25],
  [-0.5, 0.75, 1],
  [0.1, 0.2, -0.3],
  [0.25, 0.5, -0.5],
];
const FULFILLED = 3;

describe("e2e: the operator proves jobs of one model locked together as one batch proof", function () {
  this.timeout(300_000);

  it("three jobs posted together settle with one real batch proof in one fulfilBatchProof transaction; a lone job later is proven alone", async () => {
    await withLocalStack(
      "batch",
      () => undefined,
      async (run) => {
        const { stack, work } = run;
        const { modelId, circuit, batches } = stack.models.spike!;
        expect(batches.map((b) => b.slots)).to.deep.equal([4]);
        // A window of a few blocks: the three locks may land in different blocks.
        const env = { ...stackEnv(run, "batch"), VERDICT_LOG_LEVEL: "info" };
        await startRelayerAndOperators(run, env, [{ key: stack.operatorKeys[0]!, name: "operator", env: { VERDICT_BATCH_WINDOW_MS: "8000" } }]);
        const [requester] = await stack.connection.ethers.getSigners();
        const market = InferenceMarket__factory.connect(stack.addresses.market, requester!);
        const felts = ROWS.map((r) => r.map((v) => floatToFelt(v, circuit.inputs.scale)));

        // Three jobs in one block: sent back to back at consecutive nonces, then awaited.
        const nonce = await requester!.getNonce("pending");
        const sent = await Promise.all([0, 1, 2].map(async (i) => market.createJob(e2eJobRequest(modelId, felts[i]!), { value: 10n ** 15n, nonce: nonce + i })));
        const together = await Promise.all(sent.map(async (tx) => jobIdOf(market, (await tx.wait())!)));
        await waitFulfilled(market, together, work);

        const settled = await fulfilments(market, together);
        expect(new Set(settled.map((f) => f.tx)).size, "transactions settling the three jobs").to.equal(1);
        expect(settled[0]!.method).to.equal("fulfilBatchProof");
        const log = await readFile(path.join(work, "operator.log"), "utf8");
        const batchLines = log.split("\n").filter((l) => l.includes('"msg":"batch proved"'));
        expect(batchLines, "batch proofs").to.have.length(1);
        expect((JSON.parse(batchLines[0]!) as { jobIds: string[] }).jobIds.sort()).to.deep.equal(together.map(String).sort());

        const lone = await jobIdOf(market, (await (await market.createJob(e2eJobRequest(modelId, felts[3]!), { value: 10n ** 15n })).wait())!);
        await waitFulfilled(market, [lone], work);
        const alone = (await fulfilments(market, [lone]))[0]!;
        expect(alone.method).to.equal("fulfilWithSignature");
        const gas = async (hash: string) => (await stack.connection.ethers.provider.getTransactionReceipt(hash))!.gasUsed;
        const [batchGas, loneGas] = [await gas(settled[0]!.tx), await gas(alone.tx)];
        console.log(`      one batch proof for 3 jobs: ${batchGas.toLocaleString("en")} gas (${(batchGas / 3n).toLocaleString("en")} per job); a lone job: ${loneGas.toLocaleString("en")} gas`);

        // Every job's stored outputs are those of a proof of its own input alone.
        for (const [i, id] of [...together, lone].entries()) {
          const [raw] = await market.resultOf(id);
          const own = await prove(circuit, ROWS[i]!);
          expect(raw.map((x) => Number(x) / 2 ** circuit.outputs.scale), `outputs of job ${id}`).to.deep.equal(own.outputs);
        }
      },
      { chain: { blockTimeMs: 1000 }, models: ["spike"], operators: 1 },
    );
  });
});

async function jobIdOf(market: InferenceMarket, receipt: { logs: readonly { topics: readonly string[]; data: string }[] }): Promise<bigint> {
  const ev = receipt.logs.map((l) => market.interface.parseLog(l)).find((l) => l?.name === "JobCreated");
  return ev!.args.jobId as bigint;
}

async function waitFulfilled(market: InferenceMarket, ids: bigint[], work: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = await Promise.all(ids.map(async (id) => Number((await market.jobOf(id)).status)));
    if (statuses.every((s) => s === FULFILLED)) return;
    if (Date.now() > deadline) throw new Error(`jobs not fulfilled in time: ${ids.map((id, i) => `${id}:${statuses[i]}`).join(" ")} (logs in ${work})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The transaction that settled each job (its JobFulfilled event) and the market function it called. */
async function fulfilments(market: InferenceMarket, ids: bigint[]): Promise<{ tx: string; method: string }[]> {
  const events = await market.queryFilter(market.filters.JobFulfilled(), 0);
  return Promise.all(
    ids.map(async (id) => {
      const ev = events.find((e) => e.args.jobId === id)!;
      const tx = (await ev.getTransaction())!;
      return { tx: tx.hash, method: market.interface.parseTransaction(tx)!.name };
    }),
  );
}
