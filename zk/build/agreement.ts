// How closely the proven (quantized) outputs follow onnxruntime's float outputs on a model's held-out split.
// Witness generation gives exactly the outputs a proof would carry, without paying for the proofs.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { BuiltCircuit } from "./circuit.js";
import { infer } from "../runtime/inference.js";
import { witnessOutputs } from "../runtime/prover.js";

const heldoutSchema = z.object({ inputs: z.array(z.array(z.number())).min(1), labels: z.array(z.number()) });

export interface Agreement {
  rows: number;
  /** Share of rows whose proven argmax equals the float argmax (classifiers; 1 output → always 1). */
  argmaxAgreement: number;
  /** Largest |proven - float| over all outputs of all rows. */
  maxAbsError: number;
  meanAbsError: number;
  /** Float model accuracy on the labels (argmax == label) when outputs > 1. */
  floatAccuracy?: number;
  provenAccuracy?: number;
}

const argmax = (v: number[]) => v.indexOf(Math.max(...v));

export async function heldoutAgreement(circuit: BuiltCircuit): Promise<Agreement | undefined> {
  if (!circuit.spec.heldout) return undefined;
  const held = heldoutSchema.parse(JSON.parse(await readFile(path.join(circuit.spec.dir, circuit.spec.heldout), "utf8")));
  const onnx = path.join(circuit.spec.dir, circuit.spec.onnx);
  const proven = await witnessOutputs(circuit, held.inputs);
  const floats = await Promise.all(held.inputs.map((x) => infer(onnx, x)));
  const errors = proven.flatMap((row, i) => row.map((v, j) => Math.abs(v - floats[i]![j]!)));
  const classifier = circuit.outputs.count > 1;
  const share = (pred: (i: number) => boolean) => held.inputs.filter((_, i) => pred(i)).length / held.inputs.length;
  return {
    rows: held.inputs.length,
    argmaxAgreement: share((i) => argmax(proven[i]!) === argmax(floats[i]!)),
    maxAbsError: Math.max(...errors),
    meanAbsError: errors.reduce((a, b) => a + b, 0) / errors.length,
    ...(classifier
      ? { floatAccuracy: share((i) => argmax(floats[i]!) === held.labels[i]), provenAccuracy: share((i) => argmax(proven[i]!) === held.labels[i]) }
      : {}),
  };
}
