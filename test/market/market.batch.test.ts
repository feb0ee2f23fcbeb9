// fulfilBatchProof (issue 13): one proof of a batch verifier settles several locked jobs of its base model. Unit
// tests with the MockVerifier as the batch verifier.
import { expect } from "chai";
import { HostileConsumer__factory, MockVerifier__factory } from "../../types/ethers-contracts/index.js";
import { FULFIL_BATCH_TYPES } from "../../shared/eip712.js";
import { feltToSigned, floatToFelt } from "../../zk/runtime/felt.js";
import {
  COLLATERAL,
  createJob,
  deploySystem,
  ETH,
  ethers,
  FAKE_PROOF,
  marketDomain,
  networkHelpers,
  PRICE,
  SAMPLE_OUTPUT,
  STAKE,
  type System,
} from "../fixtures/system.js";

const SLOTS = 4;
const INPUTS = 3;
const OUTPUTS = 2;
const FULFILLED = 3n;
/** `BatchSlotRejected` reasons (IInferenceMarket). */
const REASON = { notLocked: 1, notLockHolder: 2, otherModel: 3, pastDeadline: 4, feeAbovePrice: 5, inputMismatch: 6 } as const;
/** A distinct input per job, so a slot bound to another job's input is caught by its hash. */
const inputOf = (i: number) => [0.5, -1, i / 8].map((v) => floatToFelt(v, 10));
/** Batch instances: every slot's inputs, then every slot's outputs; slots beyond `inputs` are zero padding. */
function batchInstances(inputs: bigint[][], outputs: bigint[][] = inputs.map(() => SAMPLE_OUTPUT), slots = SLOTS): bigint[] {
  const pad = (rows: bigint[][], width: number) => [...rows.flat(), ...Array<bigint>((slots - rows.length) * width).fill(0n)];
  return [...pad(inputs, INPUTS), ...pad(outputs, OUTPUTS)];
}

async function batchFixture() {
  const s = await deploySystem();
  const batchVerifier = await new MockVerifier__factory(s.admin).deploy();
  await s.registry.registerBatch({
    verifier: await batchVerifier.getAddress(),
    baseModelId: 1,
    slots: SLOTS,
    verifierKind: 0,
    revoked: false,
    circuitHash: ethers.id("batch-circuit"),
    vkHash: ethers.id("batch-vk"),
    uri: "test:no-bundle",
  });
  return { ...s, batchVerifier, batchId: 1n };
}

async function lockedJobs(s: System, n: number, operator = s.operator, from = 0): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let i = from; i < from + n; i++) {
    const id = await createJob(s.market, s.requester, { input: inputOf(i) });
    await s.market.connect(operator).lock(id, await s.market.termsOf(id));
    ids.push(id);
  }
  return ids;
}

function fulfilment(s: System, jobIds: bigint[], instances: bigint[], o: { relayerFee?: bigint; relayer?: string; operator?: string; signature?: string } = {}) {
  return { batchId: 1n, jobIds, proof: FAKE_PROOF, instances, relayerFee: o.relayerFee ?? 0n, relayer: o.relayer ?? ETH, operator: o.operator ?? s.operator.address, signature: o.signature ?? "0x" };
}

async function signed(s: System, f: ReturnType<typeof fulfilment>, signer = s.operator) {
  const { batchId, jobIds, proof, instances, relayerFee, relayer } = f;
  const signature = await signer.signTypedData(await marketDomain(s.market), FULFIL_BATCH_TYPES, { batchId, jobIds, proof, instances, relayerFee, relayer });
  return { ...f, signature };
}

describe("InferenceMarket.fulfilBatchProof", () => {
  it("registerBatch links a batch verifier to its base version; batchLayout returns it", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const [base, slots, verifier, codehash, revoked] = await s.registry.batchLayout(1);
    expect([base, slots, verifier, revoked]).to.deep.equal([1n, BigInt(SLOTS), await s.batchVerifier.getAddress(), false]);
    expect(codehash).to.equal(ethers.keccak256(await ethers.provider.getCode(s.batchVerifier)));
    await expect(s.registry.batchLayout(2)).to.be.revertedWithCustomError(s.registry, "UnknownBatch").withArgs(2n);
    const b = { verifier: await s.batchVerifier.getAddress(), baseModelId: 1, slots: 1, verifierKind: 0, revoked: false, circuitHash: ethers.id("c"), vkHash: ethers.id("v"), uri: "" };
    await expect(s.registry.registerBatch(b)).to.be.revertedWithCustomError(s.registry, "BatchTooSmall").withArgs(1n);
    await expect(s.registry.registerBatch({ ...b, slots: 2, baseModelId: 9 })).to.be.revertedWithCustomError(s.registry, "UnknownModel").withArgs(9n);
  });

  it("settles every bound job with one verifier call: each paid, its outputs readable, collateral released, padding ignored", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const ids = await lockedJobs(s, 3);
    const before = await s.batchVerifier.calls();
    const f = fulfilment(s, [...ids], batchInstances(ids.map((_, i) => inputOf(i))));
    const tx = s.market.connect(s.operator).fulfilBatchProof(f);
    for (const id of ids) {
      await expect(tx).to.emit(s.market, "JobFulfilled").withArgs(id, s.operator.address, ETH, PRICE, 0n, SAMPLE_OUTPUT.map(feltToSigned));
    }
    await expect(tx).to.emit(s.staking, "CollateralReleased").withArgs(s.operator.address, 3n * COLLATERAL);
    expect(await s.batchVerifier.calls()).to.equal(before + 1n);
    for (const id of ids) {
      expect((await s.market.jobOf(id)).status).to.equal(FULFILLED);
      expect((await s.market.resultOf(id))[0]).to.deep.equal(SAMPLE_OUTPUT.map(feltToSigned));
    }
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(3n * PRICE);
    expect(await s.staking.freeStake(s.operator)).to.equal(STAKE);
    expect(await s.market.escrowed(ETH)).to.equal(0n);
    expect(await s.market.owed(ETH)).to.equal(3n * PRICE);
  });

  it("skips a slot bound to another job's input with FulfilmentFailed(BatchSlotRejected 6) and a job id 0 slot as padding, and settles the rest", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const ids = await lockedJobs(s, 3);
    // slot 1 carries job 0's input but names job ids[1]; slot 2 is padding (job id 0) although it holds job 2's input
    const f = fulfilment(s, [ids[0]!, ids[1]!, 0n], batchInstances([inputOf(0), inputOf(0), inputOf(2)]));
    const ok = await s.market.connect(s.operator).fulfilBatchProof.staticCall(f);
    expect(ok).to.deep.equal([true, false, false]);
    const reason = s.market.interface.encodeErrorResult("BatchSlotRejected", [ids[1]!, REASON.inputMismatch]);
    await expect(s.market.connect(s.operator).fulfilBatchProof(f)).to.emit(s.market, "FulfilmentFailed").withArgs(ids[1]!, reason);
    expect((await s.market.jobOf(ids[0]!)).status).to.equal(FULFILLED);
    expect((await s.market.jobOf(ids[1]!)).status).to.equal(2n); // still Locked: it can be settled properly later
    expect((await s.market.jobOf(ids[2]!)).status).to.equal(2n);
  });

  it("skips a job locked by another operator (reason 2) and a job already settled (reason 1): only lock holders are paid", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const [mine] = await lockedJobs(s, 1);
    const [theirs] = await lockedJobs(s, 1, s.operator2, 1);
    const f = fulfilment(s, [mine!, theirs!, mine!], batchInstances([inputOf(0), inputOf(1), inputOf(0)]));
    const tx = s.market.connect(s.operator).fulfilBatchProof(f);
    await expect(tx).to.emit(s.market, "FulfilmentFailed").withArgs(theirs!, s.market.interface.encodeErrorResult("BatchSlotRejected", [theirs!, REASON.notLockHolder]));
    await expect(tx).to.emit(s.market, "FulfilmentFailed").withArgs(mine!, s.market.interface.encodeErrorResult("BatchSlotRejected", [mine!, REASON.notLocked]));
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(PRICE);
    expect(await s.market.balanceOf(s.operator2, ETH)).to.equal(0n);
  });

  it("reverts BatchProofRejected when the verifier rejects the proof (a tampered slot invalidates the whole proof)", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const ids = await lockedJobs(s, 2);
    await s.batchVerifier.setMode(1); // ReturnFalse
    await expect(s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, ids, batchInstances([inputOf(0), inputOf(1)]))))
      .to.be.revertedWithCustomError(s.market, "BatchProofRejected")
      .withArgs(1n);
  });

  it("reverts InstanceCountMismatch for a wrong layout, BatchTooLarge for more jobs than slots, BatchRevoked once the batch verifier is revoked", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const ids = await lockedJobs(s, 2);
    const inst = batchInstances([inputOf(0), inputOf(1)]);
    await expect(s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, ids, inst.slice(1))))
      .to.be.revertedWithCustomError(s.market, "InstanceCountMismatch")
      .withArgs(BigInt(inst.length), BigInt(inst.length - 1));
    await expect(s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, [...ids, 0n, 0n, 0n], inst)))
      .to.be.revertedWithCustomError(s.market, "BatchTooLarge")
      .withArgs(5n, BigInt(SLOTS));
    await expect(s.registry.revokeBatch(1)).to.emit(s.registry, "BatchVerifierRevoked").withArgs(1n);
    await expect(s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, ids, inst))).to.be.revertedWithCustomError(s.market, "BatchRevoked").withArgs(1n);
  });

  it("a relayed batch pays the signed fee per job to the named relayer; a signature by anyone but the operator reverts InvalidSignature", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const ids = await lockedJobs(s, 2);
    const fee = PRICE / 10n;
    const f = fulfilment(s, ids, batchInstances([inputOf(0), inputOf(1)]), { relayerFee: fee, relayer: s.relayer.address });
    const forged = await signed(s, f, s.stranger);
    await expect(s.market.connect(s.relayer).fulfilBatchProof(forged))
      .to.be.revertedWithCustomError(s.market, "InvalidSignature")
      .withArgs(s.stranger.address, s.operator.address);
    await expect(s.market.connect(s.stranger).fulfilBatchProof(await signed(s, f)))
      .to.be.revertedWithCustomError(s.market, "NotDesignatedRelayer")
      .withArgs(s.stranger.address, s.relayer.address);
    await s.market.connect(s.relayer).fulfilBatchProof(await signed(s, f));
    expect(await s.market.balanceOf(s.relayer, ETH)).to.equal(2n * fee);
    expect(await s.market.balanceOf(s.operator, ETH)).to.equal(2n * (PRICE - fee));
  });

  it("calls each settled job's callback with its own outputs, after all jobs are settled", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const consumer = await new HostileConsumer__factory(s.admin).deploy(s.market);
    const id = await createJob(s.market, s.requester, { input: inputOf(0), callback: await consumer.getAddress(), callbackGasLimit: 200_000 });
    await s.market.connect(s.operator).lock(id, await s.market.termsOf(id));
    const outputs = [floatToFelt(0.5, 10), floatToFelt(-0.25, 10)];
    await expect(s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, [id], batchInstances([inputOf(0)], [outputs]))))
      .to.emit(s.market, "CallbackCalled")
      .withArgs(id, await consumer.getAddress(), true);
    expect(await consumer.lastJobId()).to.equal(id);
    expect([await consumer.lastOutputs(0), await consumer.lastOutputs(1)]).to.deep.equal(outputs.map(feltToSigned));
  });

  it("resultOf returns outputs too large for a packed lane in full (wide storage)", async () => {
    const s = await networkHelpers.loadFixture(batchFixture);
    const [id] = await lockedJobs(s, 1);
    const big = [2n ** 100n, feltToBig(-(2n ** 70n))];
    await s.market.connect(s.operator).fulfilBatchProof(fulfilment(s, [id!], batchInstances([inputOf(0)], [big])));
    expect((await s.market.resultOf(id!))[0]).to.deep.equal([2n ** 100n, -(2n ** 70n)]);
  });
});

/** The felt of a negative integer. */
function feltToBig(v: bigint): bigint {
  const r = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
  return v < 0n ? r + v : v;
}
