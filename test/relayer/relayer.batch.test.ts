// The relayer's fulfilBatch request (issue 13): an operator-signed FulfilBatch becomes one fulfilBatchProof
// transaction, and the relay result names each job the market skipped with its decoded reason. Market logic unit
// test: the batch verifier is the test-only MockVerifier (the real batch proof is test/e2e/batch.e2e.test.ts).
import { expect } from "chai";
import { Wallet } from "ethers";
import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { DEV_KEYS } from "../../infra/localStack.js";
import { startLocalRedis } from "../../infra/localRedis.js";
import type { LocalService } from "../../infra/service.js";
import { FULFIL_BATCH_TYPES } from "../../shared/eip712.js";
import { Relayer } from "../../relayer/relay.js";
import { RelayStore } from "../../relayer/store.js";
import { relayJobId, type FulfilBatchRequest } from "../../relayer/types.js";
import { configSchema } from "../../shared/config.js";
import { createLogger } from "../../shared/logger.js";
import { redisConnection } from "../../shared/queues.js";
import { MockVerifier__factory } from "../../types/ethers-contracts/index.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { createJob, deploySystem, ethers, marketDomain, networkHelpers, SAMPLE_OUTPUT } from "../fixtures/system.js";

const SLOTS = 4;
const FULFILLED = 3n;
const LOCKED = 2n;
const INPUT_MISMATCH = 6;
const inputOf = (i: number) => [0.5, -1, i / 8].map((v) => floatToFelt(v, 10));

async function batchFixture() {
  const s = await deploySystem();
  const mockBatchVerifier = await new MockVerifier__factory(s.admin).deploy();
  await s.registry.registerBatch({ verifier: await mockBatchVerifier.getAddress(), baseModelId: 1, slots: SLOTS, verifierKind: 0, revoked: false, circuitHash: ethers.id("c"), vkHash: ethers.id("v"), uri: "test:no-bundle" });
  const jobs: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    const id = await createJob(s.market, s.requester, { input: inputOf(i) });
    await s.market.connect(s.operator).lock(id, await s.market.termsOf(id));
    jobs.push(id);
  }
  return { ...s, jobs };
}

describe("Relayer.relay of a fulfilBatch request", () => {
  let redis: LocalService;
  before(async () => {
    redis = await startLocalRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it("sends one fulfilBatchProof that settles the jobs whose slots hold their inputs and reports the skipped one as BatchSlotRejected", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const [j0, j1, j2] = s.jobs as [bigint, bigint, bigint];
    // Slot 2 holds an input that is not job 2's: the market skips it, the others settle.
    const rows = [inputOf(0), inputOf(1), inputOf(7), inputOf(7)];
    const instances = [...rows.flat(), ...rows.flatMap(() => SAMPLE_OUTPUT)].map(String);
    const auth = { batchId: "1", jobIds: [j0, j1, j2].map(String), proof: "0x" + "ab".repeat(64), instances, relayerFee: "0", relayer: ethers.ZeroAddress };
    const signature = await s.operator.signTypedData(await marketDomain(s.market), FULFIL_BATCH_TYPES, auth);
    const chainId = (await ethers.provider.getNetwork()).chainId.toString();
    const request: FulfilBatchRequest = { kind: "fulfilBatch", chainId, market: await s.market.getAddress(), auth: { ...auth, operator: s.operator.address, signature } };
    expect(relayJobId(request)).to.equal(`fulfilbatch-${chainId}-1-${j0}_${j1}_${j2}`);

    const connection = redisConnection(redis.url);
    const store = new RelayStore(connection, `relay-batch-${randomUUID()}`);
    const signers = [new Wallet(DEV_KEYS.relayer, ethers.provider)];
    const relayer = new Relayer({ signers, config: configSchema.parse({}).relayer, logger: createLogger("relayer-test", "silent"), registry: new Registry(), store });
    await relayer.start();
    let result;
    try {
      await relayer.relay(request, relayJobId(request));
      result = await relayer.outcome(relayJobId(request));
    } finally {
      await relayer.close();
      await connection.quit();
    }

    if (result.status !== "mined") throw new Error(`expected mined, got ${result.status}`);
    expect(result.failed).to.deep.equal([{ jobId: String(j2), reason: `BatchSlotRejected(${j2}, ${INPUT_MISMATCH})` }]);
    const tx = await ethers.provider.getTransaction(result.txHash);
    expect(s.market.interface.parseTransaction(tx!)!.name).to.equal("fulfilBatchProof");
    expect([(await s.market.jobOf(j0)).status, (await s.market.jobOf(j1)).status, (await s.market.jobOf(j2)).status]).to.deep.equal([FULFILLED, FULFILLED, LOCKED]);
  });
});
