// Integration (issue 13): one real ezkl proof of the spike model's batch circuit (4 slots) settles several real
// jobs on-chain through fulfilBatchProof, checked by the ezkl-generated batch verifier registered for the base
// model. A tampered slot, a slot bound to another job's input and padded slots are each handled as specified.
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import { SpikeVerifier__factory, SpikeX4Verifier__factory } from "../../types/ethers-contracts/index.js";
import { circuitHashes } from "../../zk/runtime/artifacts.js";
import { ensureBatchCircuit, ensureCircuit, loadModelSpec, type BuiltCircuit } from "../../zk/build/circuit.js";
import { feltToSigned } from "../../zk/runtime/felt.js";
import { prove, type ProofResult } from "../../zk/runtime/prover.js";
import { createJob, deploySystem, ethers, networkHelpers, PRICE } from "../fixtures/system.js";

const SLOTS = 4;
/** Three jobs' inputs, and a fourth row that pads the batch (bound to no job). */
const ROWS = [
  [0.5, -1, 0.25],
  [-0.5, 0.75, 1],
  [0.1, 0.2, -0.3],
  [0, 0, 0],
];
const FULFILLED = 3n;
const LOCKED = 2n;
const INPUT_MISMATCH = 6;

let base: BuiltCircuit;
let batch: BuiltCircuit;
let proof: ProofResult;

/** Slot k's input felts and decoded outputs in the batch proof (inputs of all slots first, then outputs). */
const slotInput = (k: number) => proof.instances.slice(k * base.inputs.count, (k + 1) * base.inputs.count);
const slotOutputs = (k: number) => {
  const o0 = SLOTS * base.inputs.count + k * base.outputs.count;
  return proof.instances.slice(o0, o0 + base.outputs.count).map(feltToSigned);
};
const gasOf = async (tx: Promise<ContractTransactionResponse>) => (await (await tx).wait())!.gasUsed;

async function batchFixture() {
  const s = await deploySystem();
  const single = await new SpikeVerifier__factory(s.admin).deploy();
  const batchVerifier = await new SpikeX4Verifier__factory(s.admin).deploy();
  await s.registry.register({
    verifier: await single.getAddress(),
    inputCount: base.inputs.count,
    outputCount: base.outputs.count,
    inputScale: base.inputs.scale,
    outputScale: base.outputs.scale,
    status: 0,
    verifierKind: 0,
    ...(await circuitHashes(base)),
    uri: "models/spike",
  });
  const modelId = await s.registry.modelCount();
  const { circuitHash, vkHash } = await circuitHashes(batch);
  await s.registry.registerBatch({ verifier: await batchVerifier.getAddress(), baseModelId: modelId, slots: SLOTS, verifierKind: 0, revoked: false, circuitHash, vkHash, uri: "models/spike#x4" });
  const batchId = await s.registry.batchCount();
  const jobs: bigint[] = [];
  for (let k = 0; k < 3; k++) {
    const id = await createJob(s.market, s.requester, { modelId, input: slotInput(k) });
    await s.market.connect(s.operator).lock(id, await s.market.termsOf(id));
    jobs.push(id);
  }
  return { ...s, batchVerifier, modelId, batchId, jobs };
}
type BatchSystem = Awaited<ReturnType<typeof batchFixture>>;

function fulfilment(s: BatchSystem, jobIds: bigint[], instances = proof.instances) {
  return { batchId: s.batchId, jobIds, proof: proof.proof, instances, relayerFee: 0n, relayer: ethers.ZeroAddress, operator: s.operator.address, signature: "0x" };
}

describe("batch circuit: one real proof settles several jobs of the spike model", function () {
  before(async () => {
    const spec = await loadModelSpec("spike");
    base = await ensureCircuit(spec);
    batch = await ensureBatchCircuit(spec, SLOTS);
    proof = await prove(batch, ROWS.flat());
  });

  it("the batch circuit has the base model's layout per slot: 4 x 3 inputs, then 4 x 2 outputs", () => {
    expect([batch.inputs.count, batch.outputs.count]).to.deep.equal([SLOTS * base.inputs.count, SLOTS * base.outputs.count]);
    expect([batch.inputs.scale, batch.outputs.scale]).to.deep.equal([base.inputs.scale, base.outputs.scale]);
  });

  it("fulfilBatchProof settles three real jobs and a padded slot with one proof: each paid, its own outputs stored", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const f = fulfilment(s, [...s.jobs, 0n]);
    expect(await s.market.connect(s.operator).fulfilBatchProof.staticCall(f)).to.deep.equal([true, true, true, false]);
    const gas = await gasOf(s.market.connect(s.operator).fulfilBatchProof(f));
    const verifierGas = await s.batchVerifier.verifyProof.estimateGas(proof.proof, proof.instances);
    console.log(`      batch of ${SLOTS} (3 jobs): ${gas.toLocaleString("en")} gas, ${(gas / 3n).toLocaleString("en")} per job; verifier alone ~${verifierGas.toLocaleString("en")} (estimate, incl. 21,000)`);
    for (const [k, id] of s.jobs.entries()) {
      expect((await s.market.jobOf(id)).status).to.equal(FULFILLED);
      expect((await s.market.resultOf(id))[0]).to.deep.equal(slotOutputs(k));
    }
    expect(await s.market.balanceOf(s.operator, ethers.ZeroAddress)).to.equal(3n * PRICE);
  });

  it("reverts BatchProofRejected when one slot's output is tampered with: the proof settles nothing", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const tampered = [...proof.instances];
    const o1 = SLOTS * base.inputs.count + base.outputs.count; // slot 1's first output
    tampered[o1] = tampered[o1]! + 1n;
    await expect(s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, [...s.jobs, 0n], tampered)))
      .to.be.revertedWithCustomError(s.market, "BatchProofRejected")
      .withArgs(s.batchId);
    for (const id of s.jobs) expect((await s.market.jobOf(id)).status).to.equal(LOCKED);
  });

  it("skips a job named on a slot that holds another job's input; the padded slots and the rest settle, and the skipped job settles later from its own slot", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const [j0, j1, j2] = s.jobs as [bigint, bigint, bigint];
    // slot 1 holds job 1's input but names job 2; slots 2 and 3 are padding
    const tx = s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, [j0, j2, 0n, 0n]));
    await expect(tx)
      .to.emit(s.market, "FulfilmentFailed")
      .withArgs(j2, s.market.interface.encodeErrorResult("BatchSlotRejected", [j2, INPUT_MISMATCH]));
    expect((await s.market.jobOf(j0)).status).to.equal(FULFILLED);
    expect((await s.market.jobOf(j2)).status).to.equal(LOCKED);
    // The same proof again, job 2 named on its own slot (2); job 1 on slot 1; job 0 is already settled.
    await s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, [0n, j1, j2]));
    expect((await s.market.resultOf(j1))[0]).to.deep.equal(slotOutputs(1));
    expect((await s.market.resultOf(j2))[0]).to.deep.equal(slotOutputs(2));
  });
});
