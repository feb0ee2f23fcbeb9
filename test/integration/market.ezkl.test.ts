// Integration: the market settles jobs with real ezkl proofs of the spike model, checked by the ezkl-generated
// verifier registered for the model. Prints (and writes .cache/reports/gas.json) the gas of each step.
import { expect } from "chai";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ContractTransactionResponse } from "ethers";
import { REPO_ROOT } from "../../shared/paths.js";
import { SpikeVerifier__factory } from "../../types/ethers-contracts/index.js";
import { circuitHashes } from "../../zk/runtime/artifacts.js";
import { ensureCircuit, loadModelSpec, type BuiltCircuit } from "../../zk/build/circuit.js";
import { BN254_R, feltToSigned } from "../../zk/runtime/felt.js";
import { prove, type ProofResult } from "../../zk/runtime/prover.js";
import { createJob, deploySystem, ethers, jobRequest, lockedJob, networkHelpers, PRICE, signedFulfilment, TIMEOUT, TOKEN_UNIT } from "../fixtures/system.js";

let circuit: BuiltCircuit;
let proof: ProofResult;
let input: number[];

async function realModelFixture() {
  const s = await deploySystem();
  const realVerifier = await new SpikeVerifier__factory(s.admin).deploy();
  await s.registry.register({
    verifier: await realVerifier.getAddress(),
    inputCount: circuit.inputs.count,
    outputCount: circuit.outputs.count,
    inputScale: circuit.inputs.scale,
    outputScale: circuit.outputs.scale,
    status: 0,
    verifierKind: 0,
    ...(await circuitHashes(circuit)),
    uri: "models/spike",
  });
  return { ...s, realVerifier, modelId: await s.registry.modelCount() };
}
type RealSystem = Awaited<ReturnType<typeof realModelFixture>>;

const spikeInput = () => proof.instances.slice(0, circuit.inputs.count);
const gasOf = async (tx: Promise<ContractTransactionResponse>) => (await (await tx).wait())!.gasUsed;

describe("InferenceMarket with the real ezkl verifier (spike model)", function () {
  before(async () => {
    const spec = await loadModelSpec("spike");
    circuit = await ensureCircuit(spec);
    input = (JSON.parse(await readFile(path.join(spec.dir, spec.sample), "utf8")) as { input_data: number[][] }).input_data[0]!;
    proof = await prove(circuit, input);
  });

  it("fulfil settles a job with a real proof and stores the outputs decoded from its instances", async () => {
    const s: RealSystem = await networkHelpers.loadFixture(realModelFixture);
    const jobId = await lockedJob(s, { modelId: s.modelId, input: spikeInput() });
    await expect(s.market.connect(s.operator).fulfil(jobId, proof.proof, proof.instances)).to.emit(s.market, "JobFulfilled");
    const [outputs, scale] = await s.market.resultOf(jobId);
    expect(outputs).to.deep.equal(proof.instances.slice(circuit.inputs.count).map(feltToSigned));
    expect(outputs.map((o) => Number(o) / 2 ** Number(scale))).to.deep.equal(proof.outputs);
  });

  it("fulfil reverts ProofRejected for a real proof with one byte flipped", async () => {
    const s: RealSystem = await networkHelpers.loadFixture(realModelFixture);
    const jobId = await lockedJob(s, { modelId: s.modelId, input: spikeInput() });
    const bytes = ethers.getBytes(proof.proof);
    bytes[100]! ^= 0x01;
    await expect(s.market.connect(s.operator).fulfil(jobId, ethers.hexlify(bytes), proof.instances))
      .to.be.revertedWithCustomError(s.market, "ProofRejected")
      .withArgs(jobId);
  });

  it("fulfil reverts ProofRejected when an output instance is changed (output not from the proof)", async () => {
    const s: RealSystem = await networkHelpers.loadFixture(realModelFixture);
    const jobId = await lockedJob(s, { modelId: s.modelId, input: spikeInput() });
    const instances = [...proof.instances];
    instances[instances.length - 1] = (instances.at(-1)! + 1n) % BN254_R;
    await expect(s.market.connect(s.operator).fulfil(jobId, proof.proof, instances))
      .to.be.revertedWithCustomError(s.market, "ProofRejected")
      .withArgs(jobId);
  });

  it("fulfil reverts InputMismatch for a real proof of another input (proof for another job)", async () => {
    const s: RealSystem = await networkHelpers.loadFixture(realModelFixture);
    const other = [spikeInput()[0]! + 1n, ...spikeInput().slice(1)];
    const jobId = await lockedJob(s, { modelId: s.modelId, input: other });
    await expect(s.market.connect(s.operator).fulfil(jobId, proof.proof, proof.instances))
      .to.be.revertedWithCustomError(s.market, "InputMismatch")
      .withArgs(jobId);
  });

  it("gas: createJob, lock, fulfil, the verifier alone, slash and batch fulfil per job", async () => {
    const s: RealSystem = await networkHelpers.loadFixture(realModelFixture);
    // Small collateral so one operator's stake backs the 32-job batch.
    const req = { modelId: s.modelId, input: spikeInput(), collateral: TOKEN_UNIT };
    const m = s.market;
    const createGas = await gasOf(m.connect(s.requester).createJob(jobRequest(req), { value: PRICE }));
    const jobId = await m.jobCount();
    const lockGas = await gasOf(m.connect(s.operator).lock(jobId, await m.termsOf(jobId)));
    const fulfilGas = await gasOf(m.connect(s.operator).fulfil(jobId, proof.proof, proof.instances));
    const verifierGas = await gasOf(s.realVerifier.verifyProof(proof.proof, proof.instances));
    const slashed = await lockedJob(s, req);
    await networkHelpers.time.increaseTo((await m.expiryOf(slashed)) + 1n);
    const slashGas = await gasOf(m.connect(s.stranger).slash(slashed));

    const batchPerJob: Record<string, number> = {};
    // 32 real-verifier fulfilments (~18M gas) exceed the 2^24 per-transaction gas cap (EIP-7825), so 16 is the
    // largest batch measured here; relayers must size batches by gas, not only by MAX_BATCH.
    for (const size of [1, 8, 16]) {
      const auths = [];
      for (let i = 0; i < size; i++) {
        const id = await createJob(m, s.requester, req);
        await m.connect(s.operator).lock(id, await m.termsOf(id));
        auths.push(await signedFulfilment(m, s.operator, id, { proof: proof.proof, instances: proof.instances }));
      }
      const gas = await gasOf(m.connect(s.relayer).fulfilBatch(auths));
      batchPerJob[`fulfilBatch of ${size}, per job`] = Number(gas) / size;
      for (const a of auths) expect((await m.jobOf(a.jobId)).status).to.equal(3n);
    }
    const table = {
      createJob: Number(createGas),
      lock: Number(lockGas),
      "fulfil (real ezkl verifier)": Number(fulfilGas),
      "verifier alone (verifyProof tx)": Number(verifierGas),
      "settlement overhead (fulfil - verifier)": Number(fulfilGas - verifierGas),
      slash: Number(slashGas),
      ...batchPerJob,
    };
    console.log(`      gas, spike model (proof ${(proof.proof.length - 2) / 2} bytes, ${proof.instances.length} instances):`);
    for (const [k, v] of Object.entries(table)) console.log(`        ${k.padEnd(42)} ${Math.round(v).toLocaleString("en-US").padStart(10)}`);
    const dir = path.join(REPO_ROOT, ".cache", "reports");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "gas.json"), JSON.stringify({ model: "spike", logrows: circuit.logrows, gas: table }, null, 2));
    expect(fulfilGas).to.be.greaterThan(verifierGas);
  });
});
