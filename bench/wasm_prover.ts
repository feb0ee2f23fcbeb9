// The @ezkljs/engine (WASM) prover over one circuit's artifacts, for bench/compare.ts. Imported, it keeps the
// module instantiated and the proving key, compiled circuit and SRS in memory ("warm"). Run as a script
//   node --experimental-strip-types --no-warnings bench/wasm_prover.ts <files JSON> <proof out>
// it is one "cold" job: a fresh process that loads the engine, reads the files, proves once and prints timings.
// No local imports, so plain Node (type stripping, no tsx start-up) can run it: the cold figure is then Node's
// start-up plus the engine's, not a TypeScript compiler's.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface WasmFiles {
  compiled: string;
  pk: string;
  vk: string;
  settings: string;
  srs: string;
  /** ezkl input JSON ({"input_data": [[...]]}). */
  input: string;
}

export interface WasmTimings {
  /** Seconds to import the engine (instantiate the WASM module). */
  load_s: number;
  /** Seconds to read the artifacts into memory. */
  read_s: number;
}

export interface WasmProof {
  witness_s: number;
  prove_s: number;
  /** The proof as the engine returns it: ezkl's proof JSON, bytes. */
  proof: Uint8Array;
}

export interface WasmProver {
  engineVersion: string;
  timings: WasmTimings;
  prove(): WasmProof;
  verify(proof: Uint8Array): boolean;
  /** The engine's own validation of each artifact: "ok", or its error (tells which file another release wrote differently). */
  validate(): Record<string, string>;
}

type Engine = typeof import("@ezkljs/engine");

export async function loadWasmProver(files: WasmFiles): Promise<WasmProver> {
  let t = performance.now();
  const mod = (await import("@ezkljs/engine")) as Engine & { default?: Engine };
  // A CommonJS package: depending on the loader its functions are on the namespace or on its default export.
  const engine: Engine = typeof mod.prove === "function" ? mod : mod.default!;
  const load_s = (performance.now() - t) / 1000;
  t = performance.now();
  const bytes = async (f: string) => new Uint8ClampedArray(await readFile(f));
  const [compiled, pk, vk, settings, srs, input] = await Promise.all([files.compiled, files.pk, files.vk, files.settings, files.srs, files.input].map(bytes));
  const read_s = (performance.now() - t) / 1000;
  const pkgFile = path.join(path.dirname(fileURLToPath(import.meta.resolve("@ezkljs/engine"))), "..", "package.json");
  const engineVersion = (JSON.parse(await readFile(pkgFile, "utf8")) as { version: string }).version;
  return {
    engineVersion,
    timings: { load_s, read_s },
    prove() {
      let t0 = performance.now();
      const witness = engine.genWitness(compiled!, input!);
      const witness_s = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const proof = engine.prove(new Uint8ClampedArray(witness), pk!, compiled!, srs!);
      return { witness_s, prove_s: (performance.now() - t0) / 1000, proof };
    },
    verify(proof) {
      return engine.verify(new Uint8ClampedArray(proof), vk!, settings!, srs!);
    },
    validate() {
      const checks: Record<string, () => boolean> = {
        "network.compiled": () => engine.compiledCircuitValidation(compiled!),
        "settings.json": () => engine.settingsValidation(settings!),
        "pk.key": () => engine.pkValidation(pk!, settings!),
        "vk.key": () => engine.vkValidation(vk!, settings!),
        srs: () => engine.srsValidation(srs!),
        input: () => engine.inputValidation(input!),
      };
      const out: Record<string, string> = {};
      for (const [name, check] of Object.entries(checks)) {
        try {
          out[name] = check() ? "ok" : "rejected";
        } catch (e) {
          out[name] = String(e instanceof Error ? e.message : e).trim();
        }
      }
      return out;
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = performance.now();
  const [filesJson, proofOut] = process.argv.slice(2);
  const prover = await loadWasmProver(JSON.parse(filesJson!) as WasmFiles);
  const p = prover.prove();
  if (proofOut) await writeFile(proofOut, p.proof);
  console.log(JSON.stringify({ ...prover.timings, witness_s: p.witness_s, prove_s: p.prove_s, total_in_process_s: (performance.now() - t0) / 1000 }));
}
