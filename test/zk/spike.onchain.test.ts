// The zk spike, kept as a permanent test: a real ezkl proof of a real ONNX model, verified on-chain by the
// ezkl-generated Solidity verifier compiled by our Hardhat, and its outputs checked against onnxruntime-node.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { SpikeVerifier__factory, type SpikeVerifier } from "../../types/ethers-contracts/index.js";
import { ensureCircuit, loadModelSpec, type BuiltCircuit } from "../../zk/build/circuit.js";
import { BN254_R, floatToFelt } from "../../zk/runtime/felt.js";
import { infer } from "../../zk/runtime/inference.js";
import { prove, type ProofResult } from "../../zk/runtime/prover.js";

const { ethers } = await network.getOrCreate();

describe("zk spike: ezkl proof of the spike model verified on-chain", function () {
  let circuit: BuiltCircuit;
  let input: number[];
  let proof: ProofResult;
  let verifier: SpikeVerifier;

  /** True only when the verifier accepts; a revert and a `false` return both count as rejection. */
  async function accepts(proofHex: string, instances: bigint[]): Promise<boolean> {
    try {
      return await verifier.verifyProof.staticCall(proofHex, instances);
    } catch {
      return false;
    }
  }

  before(async () => {
    const spec = await loadModelSpec("spike");
    circuit = await ensureCircuit(spec);
    const sample = JSON.parse(await readFile(path.join(spec.dir, spec.sample), "utf8")) as { input_data: number[][] };
    input = sample.input_data[0]!;
    proof = await prove(circuit, input);
    const [deployer] = await ethers.getSigners();
    verifier = await new SpikeVerifier__factory(deployer).deploy();
  });

  it("weights are fixed in the verifying key, not private witness values", async () => {
    const settings = JSON.parse(await readFile(circuit.file("settings.json"), "utf8"));
    expect(settings.run_args.param_visibility).to.equal("Fixed");
    expect(settings.run_args.input_visibility).to.equal("Public");
    expect(settings.run_args.output_visibility).to.equal("Public");
  });

  it("the input instances are the quantized job input", () => {
    const expected = input.map((v) => floatToFelt(v, circuit.inputs.scale));
    expect(proof.instances.slice(0, circuit.inputs.count)).to.deep.equal(expected);
  });

  it("the decoded outputs equal onnxruntime-node's within the quantization tolerance", async () => {
    const reference = await infer(path.join(circuit.spec.dir, circuit.spec.onnx), input);
    // Inputs and weights are each rounded to 2^-scale; a two-layer net's error stays within a few quanta.
    const tolerance = 8 / 2 ** circuit.outputs.scale;
    expect(proof.outputs).to.have.length(reference.length);
    proof.outputs.forEach((v, i) => expect(Math.abs(v - reference[i]!)).to.be.at.most(tolerance));
    console.log(`      proven outputs ${proof.outputs.join(", ")} vs onnxruntime ${reference.map((x) => x.toFixed(6)).join(", ")}`);
  });

  it("verifyProof accepts the real proof on-chain", async () => {
    expect(await accepts(proof.proof, proof.instances)).to.equal(true);
    const tx = await verifier.verifyProof(proof.proof, proof.instances);
    const receipt = await tx.wait();
    expect(receipt?.status).to.equal(1);
    const proofBytes = (proof.proof.length - 2) / 2;
    console.log(
      `      on-chain verification: gas ${receipt?.gasUsed}, proof ${proofBytes} bytes, ${proof.instances.length} instances, ` +
        `prove ${proof.timings.prove?.toFixed(2)}s, native verify ${proof.timings.verify?.toFixed(3)}s`,
    );
  });

  it("verifyProof rejects a proof with one byte flipped", async () => {
    const bytes = ethers.getBytes(proof.proof);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    expect(await accepts(ethers.hexlify(bytes), proof.instances)).to.equal(false);
  });

  it("verifyProof rejects a tampered output instance", async () => {
    const instances = [...proof.instances];
    instances[instances.length - 1] = (instances.at(-1)! + 1n) % BN254_R;
    expect(await accepts(proof.proof, instances)).to.equal(false);
  });

  it("verifyProof rejects a tampered input instance", async () => {
    const instances = [...proof.instances];
    instances[0] = instances[0]! + 1n;
    expect(await accepts(proof.proof, instances)).to.equal(false);
  });

  it("verifyProof rejects an instance shifted by the modulus (same residue, non-canonical)", async () => {
    const instances = [...proof.instances];
    instances[instances.length - 1] = instances.at(-1)! + BN254_R;
    expect(await accepts(proof.proof, instances)).to.equal(false);
  });
});
