import { expect } from "chai";
import { MockVerifier__factory } from "../../types/ethers-contracts/index.js";
import {
  COLLATERAL,
  createJob,
  deploySystem,
  ethers,
  FAKE_PROOF,
  instancesFor,
  jobRequest,
  lockedJob,
  modelVersion,
  networkHelpers,
  PRICE,
  type System,
} from "../fixtures/system.js";

/** Registers a model version whose verifier is a fresh MockVerifier in `mode`; returns its id and verifier. */
async function registerMockModel(s: System, mode = 0n, overrides: Partial<Record<string, unknown>> = {}) {
  const verifier = await new MockVerifier__factory(s.admin).deploy();
  await verifier.setMode(mode);
  await s.registry.register(modelVersion(await verifier.getAddress(), overrides));
  return { modelId: await s.registry.modelCount(), verifier };
}

/** The model version as a plain record, for deep comparison. */
async function modelRecord(s: System, modelId: bigint) {
  const { verifier, inputCount, outputCount, inputScale, outputScale, status, verifierKind, onnxHash, circuitHash, vkHash, uri } = await s.registry.model(modelId);
  return { verifier, inputCount, outputCount, inputScale, outputScale, status, verifierKind, onnxHash, circuitHash, vkHash, uri };
}

describe("ModelRegistry", () => {
  it("register and deprecate revert AccessControlUnauthorizedAccount without MODEL_ADMIN_ROLE", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const role = await s.registry.MODEL_ADMIN_ROLE();
    await expect(s.registry.connect(s.stranger).register(modelVersion(await s.verifier.getAddress())))
      .to.be.revertedWithCustomError(s.registry, "AccessControlUnauthorizedAccount")
      .withArgs(s.stranger.address, role);
    await expect(s.registry.connect(s.stranger).deprecate(1n))
      .to.be.revertedWithCustomError(s.registry, "AccessControlUnauthorizedAccount")
      .withArgs(s.stranger.address, role);
  });

  it("register reverts VerifierHasNoCode for a verifier address without code", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.registry.register(modelVersion(s.stranger.address)))
      .to.be.revertedWithCustomError(s.registry, "VerifierHasNoCode")
      .withArgs(s.stranger.address);
  });

  it("registerBatch applies register's verifier checks (VerifierHasNoCode, ZeroHash), pins the code hash and stores the batch unrevoked whatever is passed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const verifier = await s.verifier.getAddress();
    const b = { verifier, baseModelId: 1, slots: 2, verifierKind: 0, revoked: true, circuitHash: ethers.id("c"), vkHash: ethers.id("v"), uri: "batch" };
    await expect(s.registry.registerBatch({ ...b, verifier: s.stranger.address }))
      .to.be.revertedWithCustomError(s.registry, "VerifierHasNoCode")
      .withArgs(s.stranger.address);
    await expect(s.registry.registerBatch({ ...b, circuitHash: ethers.ZeroHash })).to.be.revertedWithCustomError(s.registry, "ZeroHash");
    await expect(s.registry.registerBatch({ ...b, vkHash: ethers.ZeroHash })).to.be.revertedWithCustomError(s.registry, "ZeroHash");
    await expect(s.registry.registerBatch(b))
      .to.emit(s.registry, "BatchVerifierRegistered")
      .withArgs(1n, 1n, 2n, verifier, b.circuitHash, b.vkHash, "batch");
    const stored = await s.registry.batch(1);
    expect([stored.verifier, stored.baseModelId, stored.slots, stored.revoked, stored.circuitHash, stored.vkHash, stored.uri]).to.deep.equal([verifier, 1n, 2n, false, b.circuitHash, b.vkHash, "batch"]);
    expect((await s.registry.batchLayout(1))[3]).to.equal(ethers.keccak256(await ethers.provider.getCode(verifier)));
  });

  it("register reverts EmptyLayout, ZeroHash and ScaleTooLarge for an empty layout, a zero hash or a scale over 64", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const verifier = await s.verifier.getAddress();
    for (const overrides of [{ inputCount: 0 }, { outputCount: 0 }]) {
      await expect(s.registry.register(modelVersion(verifier, overrides))).to.be.revertedWithCustomError(s.registry, "EmptyLayout");
    }
    for (const overrides of [{ onnxHash: ethers.ZeroHash }, { circuitHash: ethers.ZeroHash }, { vkHash: ethers.ZeroHash }]) {
      await expect(s.registry.register(modelVersion(verifier, overrides))).to.be.revertedWithCustomError(s.registry, "ZeroHash");
    }
    for (const overrides of [{ inputScale: 65 }, { outputScale: 65 }]) {
      await expect(s.registry.register(modelVersion(verifier, overrides)))
        .to.be.revertedWithCustomError(s.registry, "ScaleTooLarge")
        .withArgs(65n);
    }
    expect(await s.registry.modelCount()).to.equal(1n);
    await expect(s.registry.register(modelVersion(verifier, { inputScale: 64, outputScale: 64 }))).to.emit(s.registry, "ModelRegistered");
  });

  it("register emits ModelRegistered, assigns the next id and stores the version as Active whatever status is passed", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const verifier = await s.verifier.getAddress();
    const v = modelVersion(verifier, { status: 2, onnxHash: ethers.id("onnx2"), uri: "models/v2" });
    await expect(s.registry.register(v))
      .to.emit(s.registry, "ModelRegistered")
      .withArgs(2n, verifier, 0n, v.onnxHash, v.circuitHash, v.vkHash, "models/v2");
    expect(await s.registry.modelCount()).to.equal(2n);
    expect(await modelRecord(s, 2n)).to.deep.equal({ ...v, inputCount: 3n, outputCount: 2n, inputScale: 10n, outputScale: 10n, status: 1n, verifierKind: 0n });
    const [lVerifier, inputCount, outputCount, outputScale, status] = await s.registry.layout(2n);
    expect([lVerifier, inputCount, outputCount, outputScale, status]).to.deep.equal([verifier, 3n, 2n, 10n, 1n]);
  });

  it("model and layout revert UnknownModel for an id never registered", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    await expect(s.registry.model(0n)).to.be.revertedWithCustomError(s.registry, "UnknownModel").withArgs(0n);
    await expect(s.registry.layout(2n)).to.be.revertedWithCustomError(s.registry, "UnknownModel").withArgs(2n);
    await expect(s.registry.deprecate(2n)).to.be.revertedWithCustomError(s.registry, "UnknownModel").withArgs(2n);
  });

  it("versions are immutable: no setter exists, and a new version gets a new id leaving the old one unchanged", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const writers: string[] = [];
    s.registry.interface.forEachFunction((f) => {
      if (!f.constant) writers.push(f.name);
    });
    expect(writers.sort()).to.deep.equal(["deprecate", "grantRole", "register", "registerBatch", "renounceRole", "revoke", "revokeBatch", "revokeRole"]);
    const before = await modelRecord(s, 1n);
    const { modelId } = await registerMockModel(s, 0n, { outputScale: 12, vkHash: ethers.id("vk2") });
    expect(modelId).to.equal(2n);
    expect(await modelRecord(s, 1n)).to.deep.equal(before);
    expect((await s.registry.model(2n)).vkHash).to.equal(ethers.id("vk2"));
  });

  it("deprecate is final (a second deprecate reverts ModelNotActive) and blocks new jobs, while a job created before still locks and fulfils", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const jobId = await createJob(s.market, s.requester);
    await expect(s.registry.deprecate(1n)).to.emit(s.registry, "ModelDeprecated").withArgs(1n);
    expect((await s.registry.model(1n)).status).to.equal(2n); // Deprecated
    await expect(s.registry.deprecate(1n)).to.be.revertedWithCustomError(s.registry, "ModelNotActive").withArgs(1n);
    await expect(s.market.connect(s.requester).createJob(jobRequest(), { value: PRICE }))
      .to.be.revertedWithCustomError(s.market, "ModelNotActive")
      .withArgs(1n);

    await expect(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId))).to.emit(s.market, "JobLocked").withArgs(jobId, s.operator.address, COLLATERAL);
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor())).to.emit(s.market, "JobFulfilled");
    expect((await s.market.jobOf(jobId)).status).to.equal(3n); // Fulfilled
  });

  it("malicious verifier: requester cannot choose — with the registered verifier rejecting and the requester's accepting, fulfil reverts ProofRejected (T-3)", async () => {
    const s = await networkHelpers.loadFixture(deploySystem);
    const fields = s.market.interface.getFunction("createJob")!.inputs[0]!.components!.map((c) => c.name);
    expect(fields).to.not.include("verifier");
    expect(fields).to.not.include("verifierAddress");
    // The requester's own verifier accepts everything; the model's registered one rejects this proof. If anything
    // the requester or operator sends could route verification to `evil`, the fulfilment would settle.
    const evil = await new MockVerifier__factory(s.requester).deploy();
    const jobId = await lockedJob(s, { callback: await evil.getAddress(), callbackGasLimit: 100_000 });
    await s.verifier.setMode(1n); // ReturnFalse
    const callsBefore = await s.verifier.calls();
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
      .to.be.revertedWithCustomError(s.market, "ProofRejected")
      .withArgs(jobId);
    await s.verifier.setMode(0n); // Accept
    await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor())).to.emit(s.market, "JobFulfilled");
    expect(await s.verifier.calls()).to.equal(callsBefore + 1n);
    expect(await evil.calls()).to.equal(0n);
  });

  for (const [mode, name] of [[1n, "ReturnFalse"], [2n, "Revert"]] as const) {
    it(`fulfil reverts ProofRejected when the model's registered verifier is in mode ${name}`, async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const { modelId, verifier } = await registerMockModel(s, mode);
      expect((await s.registry.layout(modelId)).verifier).to.equal(await verifier.getAddress());
      const jobId = await lockedJob(s, { modelId });
      await expect(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()))
        .to.be.revertedWithCustomError(s.market, "ProofRejected")
        .withArgs(jobId);
      expect((await s.market.jobOf(jobId)).status).to.equal(2n); // still Locked
    });
  }
});
