// Issue: the demo models (two MLPs and a CNN) onboard (verifier compiled by our Hardhat, deployed, registered with their hashes),
// prove a job each, and settle it through the market on-chain; proven outputs agree with onnxruntime's.
import { expect } from "chai";
import path from "node:path";
import { deployAndRegister } from "../../deploy/onboard.js";
import { heldoutAgreement } from "../../zk/build/agreement.js";
import { ensureCircuit, loadModelSpec, readInputRows, type BuiltCircuit } from "../../zk/build/circuit.js";
import { feltToSigned, floatToFelt } from "../../zk/runtime/felt.js";
import { infer } from "../../zk/runtime/inference.js";
import { prove } from "../../zk/runtime/prover.js";
import { VkaVerifier__factory } from "../../types/ethers-contracts/index.js";
import { deploySystem, lockedJob, networkHelpers, NO_BUNDLE, signedFulfilment } from "../fixtures/system.js";

const argmax = (v: number[]) => v.indexOf(Math.max(...v));

for (const name of ["wine-classifier", "diabetes-regressor", "digits-cnn"]) {
  describe(`demo model ${name}: onboarded, proven and settled on-chain`, () => {
    let circuit: BuiltCircuit;
    before(async () => {
      circuit = await ensureCircuit(await loadModelSpec(name));
    });

    it("deployAndRegister registers the verifier with the model's hashes, and reuses it when nothing changed", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const first = await deployAndRegister(circuit, s.admin, await s.registry.getAddress(), NO_BUNDLE);
      expect(first.reused).to.equal(false);
      const version = await s.registry.model(first.modelId);
      expect(version.verifier).to.equal(first.verifier);
      expect(version.vkHash).to.equal(first.vkHash);
      expect([Number(version.inputCount), Number(version.outputCount)]).to.deep.equal([circuit.inputs.count, circuit.outputs.count]);
      const again = await deployAndRegister(circuit, s.admin, await s.registry.getAddress(), NO_BUNDLE);
      expect(again).to.include({ reused: true, modelId: first.modelId, verifier: first.verifier });
      expect(await s.registry.modelCount()).to.equal(BigInt(first.modelId));
    });

    it("a job on a held-out row is proven, verified by the market and paid; outputs match onnxruntime", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const { modelId } = await deployAndRegister(circuit, s.admin, await s.registry.getAddress(), NO_BUNDLE);
      const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
      const input = row!.map((v) => floatToFelt(v, circuit.inputs.scale));
      const jobId = await lockedJob(s, { modelId: BigInt(modelId), input });
      const proof = await prove(circuit, row!);
      const auth = await signedFulfilment(s.market, s.operator, jobId, { proof: proof.proof, instances: proof.instances });
      const receipt = await (await s.market.connect(s.relayer).fulfilWithSignature(auth)).wait();
      const [outputs, scale] = await s.market.resultOf(jobId);
      const decoded = outputs.map((o) => Number(o) / 2 ** Number(scale));
      expect(outputs).to.deep.equal(proof.instances.slice(circuit.inputs.count).map(feltToSigned));
      const reference = await infer(path.join(circuit.spec.dir, circuit.spec.onnx), row!);
      decoded.forEach((v, i) => expect(Math.abs(v - reference[i]!)).to.be.below(0.05));
      if (decoded.length > 1) expect(argmax(decoded)).to.equal(argmax(reference));
      console.log(
        `      ${name}: logrows ${circuit.logrows}, ${circuit.parameters} params, proof ${(proof.proof.length - 2) / 2} B, prove ${proof.timings.prove?.toFixed(2)}s, ` +
          `fulfil gas ${receipt!.gasUsed}, outputs ${decoded.map((v) => v.toFixed(4)).join(", ")} vs float ${reference.map((v) => v.toFixed(4)).join(", ")}`,
      );
    });

    it("the same circuit registered with ezkl's reusable verifier (VkaVerifier) settles a job too", async () => {
      const s = await networkHelpers.loadFixture(deploySystem);
      const reusable = { ...circuit, verifier: "reusable" as const };
      const { modelId, verifier } = await deployAndRegister(reusable, s.admin, await s.registry.getAddress(), NO_BUNDLE);
      expect((await s.registry.model(modelId)).verifierKind).to.equal(1n);
      const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
      const jobId = await lockedJob(s, { modelId: BigInt(modelId), input: row!.map((v) => floatToFelt(v, circuit.inputs.scale)) });
      const proof = await prove(circuit, row!);
      const receipt = await (await s.market.connect(s.operator).fulfil(jobId, proof.proof, proof.instances)).wait();
      expect((await s.market.jobOf(jobId)).status).to.equal(3n);
      const tampered = [...proof.instances];
      tampered[tampered.length - 1] = tampered.at(-1)! + 1n;
      const adapter = VkaVerifier__factory.connect(verifier, s.admin);
      expect(await adapter.verifyProof.staticCall(proof.proof, tampered).catch(() => false)).to.equal(false);
      console.log(`      ${name} via the reusable verifier: fulfil gas ${receipt!.gasUsed}`);
    });

    it("proven (quantized) outputs agree with onnxruntime on the whole held-out split", async () => {
      const a = (await heldoutAgreement(circuit))!;
      console.log(`      ${name}: ${a.rows} held-out rows, argmax agreement ${(a.argmaxAgreement * 100).toFixed(1)}%, max |proven - float| ${a.maxAbsError.toFixed(4)}, mean ${a.meanAbsError.toFixed(5)}${a.floatAccuracy !== undefined ? `, accuracy float ${a.floatAccuracy.toFixed(3)} / proven ${a.provenAccuracy!.toFixed(3)}` : ""}`);
      expect(a.argmaxAgreement).to.be.at.least(0.98);
      expect(a.maxAbsError).to.be.below(0.05);
    });
  });
}
