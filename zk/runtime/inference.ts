// Float inference with onnxruntime-node: the reference the proven (quantized) outputs are compared with, and
// what an operator runs before proving. Sessions are created once per model file and execution provider.
import * as ort from "onnxruntime-node";

export type ExecutionProvider = "cpu" | "cuda";

const sessions = new Map<string, Promise<{ session: ort.InferenceSession; provider: ExecutionProvider }>>();

/** Opens (once) a session on `provider`, falling back to CPU with a log line when CUDA cannot load. */
export function session(onnxPath: string, provider: ExecutionProvider = "cpu", log: (msg: string) => void = console.warn) {
  const key = `${provider}:${onnxPath}`;
  let s = sessions.get(key);
  if (!s) {
    s = (async () => {
      if (provider === "cuda") {
        try {
          return { session: await ort.InferenceSession.create(onnxPath, { executionProviders: ["cuda"] }), provider };
        } catch (e) {
          log(`onnxruntime: CUDA execution provider unavailable (${(e as Error).message.split("\n")[0]}); using CPU`);
        }
      }
      return { session: await ort.InferenceSession.create(onnxPath, { executionProviders: ["cpu"] }), provider: "cpu" as const };
    })();
    sessions.set(key, s);
  }
  return s;
}

/** Runs the model on one input row (batch 1) and returns its flattened float outputs. */
export async function infer(onnxPath: string, input: readonly number[], provider?: ExecutionProvider, log?: (msg: string) => void): Promise<number[]> {
  const { session: s } = await session(onnxPath, provider, log);
  const feeds = { [s.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(input), [1, input.length]) };
  const out = await s.run(feeds);
  return Array.from(out[s.outputNames[0]!]!.data as Float32Array);
}
