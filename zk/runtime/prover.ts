// Input vector -> ezkl proof for a built circuit: witness, proof and native verification, with the public
// instances converted to uint256 and the outputs decoded from them (never taken from anywhere else). Also the
// operator's exact test of an input before it locks a job: a witness generation (witnessOutputs).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { z } from "zod";
import { VerdictError } from "../../shared/errors.js";
import { EzklError, runBridge, timingsSchema, type BridgeCall, type BridgeOptions } from "./bridge.js";
import { checkCircuitInput, type CircuitArtifacts } from "./artifacts.js";
import { feltFromLeHex, feltToFloat, feltToLeHex } from "./felt.js";

type ProverOptions = BridgeOptions & { bridge?: BridgeCall };

/**
 * ezkl refuses a witness (an opaque "General synthesis error") when a value in the circuit overflows its range
 * checks: the input cannot be proven, however often it is tried. Anything else (a killed or timed-out bridge)
 * stays as it was, retryable or not.
 */
function notProvable(e: unknown, circuit: CircuitArtifacts, what: string): unknown {
  if (!(e instanceof EzklError) || e.retryable || !/Failed to generate witness/.test(e.message)) return e;
  return notProvableError(circuit, what);
}

function notProvableError(circuit: CircuitArtifacts, what: string): VerdictError {
  return new VerdictError(
    "INPUT_NOT_PROVABLE",
    `${what}: the circuit of ${circuit.name} cannot take it (a value computed inside the model exceeds the circuit's range checks, decomp_base^decomp_legs)`,
    "such inputs need the model rebuilt with a larger decomp_base^decomp_legs",
  );
}

/** A witness's output felts (32-byte little-endian hex) as floats at the circuit's output scale. */
function decodeOutputs(circuit: CircuitArtifacts, felts: readonly string[]): number[] {
  return felts.map((h) => feltToFloat(feltFromLeHex(h), circuit.outputs.scale));
}

const outputsSchema = z.object({ outputs: z.array(z.array(z.string())) });

/**
 * The outputs proofs of `rows` would carry, from ezkl's witness generation alone (milliseconds per row, no
 * proof). A witness exists exactly when the circuit can prove the row: ezkl lays out every range check while it
 * generates one (measured with ezkl 23.0.5: mock proving agreed with the witness on 510 random rows of the demo
 * models, boundary values included).
 * Refuses (INPUT_NOT_PROVABLE) when any row cannot be proven.
 */
export async function witnessOutputs(circuit: CircuitArtifacts, rows: readonly (readonly number[])[], opts: ProverOptions = {}): Promise<number[][]> {
  rows.forEach((row, i) => checkCircuitInput(circuit, row, rows.length === 1 ? `input to ${circuit.name}` : `row ${i}`));
  const work = await mkdtemp(path.join(tmpdir(), "verdict-witness-"));
  try {
    const rowsFile = path.join(work, "rows.json");
    await writeFile(rowsFile, JSON.stringify({ rows }));
    const { outputs } = await (opts.bridge ?? runBridge)("outputs", { dir: circuit.dir, rows: rowsFile, work }, outputsSchema, { timeoutMs: opts.timeoutMs }).catch((e: unknown) => {
      throw notProvable(e, circuit, rows.length === 1 ? `input to ${circuit.name}` : "a row");
    });
    return outputs.map((row) => decodeOutputs(circuit, row));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const checkSchema = z.object({ outputs: z.array(z.array(z.string()).nullable()), batched: z.number().int() });

export interface CheckedRows {
  /** Per row: its outputs, or its refusal. */
  results: (number[] | VerdictError)[];
  /** Rows answered by a batch-shaped network (the others one by one on the circuit itself). */
  batched: number;
}

/**
 * witnessOutputs row by row, for the check before a lock: each row's outputs, or its refusal (a VerdictError naming
 * the row by its label: outside the input range check, or INPUT_NOT_PROVABLE where the circuit's witness fails).
 * The rows go to ezkl in groups through a batch-shaped copy of the circuit's network with the circuit's own settings (bridge.py `check`:
 * ~0.5-1 ms a row against ~5 alone); a group in which any row fails is checked again row by row on the circuit
 * itself, so a refusal is always the circuit's own.
 */
export async function checkRows(circuit: CircuitArtifacts, rows: readonly (readonly number[])[], labels: readonly string[], opts: ProverOptions = {}): Promise<CheckedRows> {
  const results: (number[] | VerdictError | undefined)[] = rows.map((row, i) => {
    try {
      checkCircuitInput(circuit, row, labels[i]!);
      return undefined;
    } catch (e) {
      if (e instanceof VerdictError) return e;
      throw e;
    }
  });
  const asked = rows.filter((_, i) => results[i] === undefined);
  if (asked.length === 0) return { results: results as VerdictError[], batched: 0 };
  const work = await mkdtemp(path.join(tmpdir(), "verdict-rows-"));
  try {
    const rowsFile = path.join(work, "rows.json");
    await writeFile(rowsFile, JSON.stringify({ rows: asked }));
    const { outputs, batched } = await (opts.bridge ?? runBridge)("check", { dir: circuit.dir, onnx: circuit.onnx, rows: rowsFile, work }, checkSchema, { timeoutMs: opts.timeoutMs });
    let k = 0;
    const checked = results.map((r, i) => {
      if (r) return r;
      const felts = outputs[k++];
      return felts ? decodeOutputs(circuit, felts) : notProvableError(circuit, labels[i]!);
    });
    return { results: checked, batched };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface ProofResult {
  /** Proof bytes as 0x-hex, as the generated Solidity verifier takes them. */
  proof: string;
  /** Public instances as uint256, in circuit order: inputs then outputs. */
  instances: bigint[];
  /** Outputs decoded from the output instances at the circuit's output scale. */
  outputs: number[];
  /** Seconds for witness, prove and verify. */
  timings: Record<string, number>;
}

const proveResultSchema = z.object({
  verified: z.boolean(),
  hexProof: z.string().regex(/^0x[0-9a-fA-F]+$/),
  instances: z.array(z.string()),
  timings: timingsSchema,
});

/** `bridge`: a warm prover's call (WarmBridgePool.use); default a fresh bridge process for this proof. */
export async function prove(circuit: CircuitArtifacts, input: readonly number[], opts: ProverOptions = {}): Promise<ProofResult> {
  // Refuse inputs no proof can carry (wrong size, NaN, beyond the input range check) before any proving work;
  // one that overflows inside the circuit fails at the witness, the proof's first step (INPUT_NOT_PROVABLE).
  checkCircuitInput(circuit, input, `input to ${circuit.name}`);
  const work = await mkdtemp(path.join(tmpdir(), "verdict-prove-"));
  try {
    const inputFile = path.join(work, "input.json");
    await writeFile(inputFile, JSON.stringify({ input_data: [input] }));
    const result = await (opts.bridge ?? runBridge)(
      "prove",
      {
        dir: circuit.dir,
        input: inputFile,
        srs: circuit.srs,
        witness: path.join(work, "witness.json"),
        proof: path.join(work, "proof.json"),
      },
      proveResultSchema,
      { timeoutMs: opts.timeoutMs },
    ).catch((e: unknown) => {
      throw notProvable(e, circuit, `input to ${circuit.name}`);
    });
    if (!result.verified) throw new Error(`ezkl produced a proof for ${circuit.name} that it does not verify`);
    const instances = result.instances.map(feltFromLeHex);
    const expected = circuit.inputs.count + circuit.outputs.count;
    if (instances.length !== expected) throw new Error(`expected ${expected} public instances, got ${instances.length}`);
    const outputs = instances.slice(circuit.inputs.count).map((f) => feltToFloat(f, circuit.outputs.scale));
    return { proof: result.hexProof, instances, outputs, timings: result.timings };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const verifyResultSchema = z.object({ verified: z.boolean(), timings: timingsSchema, maxRssMb: z.number() });
export type NativeVerification = z.infer<typeof verifyResultSchema>;

/**
 * Native ezkl verification of an EVM proof (0x-hex) and its public instances with the circuit's verifying key and
 * SRS, in a bridge process of its own (so its peak memory is the verifier's): what `verdict verify` re-checks.
 */
export async function verifyNative(circuit: CircuitArtifacts, proof: string, instances: readonly bigint[]): Promise<NativeVerification> {
  const work = await mkdtemp(path.join(tmpdir(), "verdict-verify-"));
  try {
    const proofFile = path.join(work, "proof.json");
    const bytes = [...Buffer.from(proof.slice(2), "hex")];
    await writeFile(proofFile, JSON.stringify({ protocol: null, instances: [instances.map(feltToLeHex)], proof: bytes, hex_proof: proof, split: null, pretty_public_inputs: null, timestamp: null, version: null }));
    return await runBridge("verify", { proof: proofFile, settings: circuit.file("settings.json"), vk: circuit.file("vk.key"), srs: circuit.srs }, verifyResultSchema);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Slot k of a proof of a batch circuit over `slots` runs (zk/build/circuit.ts ensureBatchCircuit): its input
 * instances and its decoded outputs. The batch circuit's instances are every slot's inputs, then every slot's
 * outputs, slot-major, the layout fulfilBatchProof reads; its input is the slots' rows stacked in slot order.
 */
export function batchSlot(result: Pick<ProofResult, "instances" | "outputs">, circuit: Pick<CircuitArtifacts, "inputs" | "outputs">, slots: number, k: number): { inputs: bigint[]; outputs: number[] } {
  const inPer = circuit.inputs.count / slots;
  const outPer = circuit.outputs.count / slots;
  if (!Number.isInteger(inPer) || !Number.isInteger(outPer) || k < 0 || k >= slots) throw new RangeError(`slot ${k} of ${slots} does not fit a circuit of ${circuit.inputs.count} inputs and ${circuit.outputs.count} outputs`);
  return { inputs: result.instances.slice(k * inPer, (k + 1) * inPer), outputs: result.outputs.slice(k * outPer, (k + 1) * outPer) };
}
