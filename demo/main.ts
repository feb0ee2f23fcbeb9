// `make demo`: local Redis + local chain on free loopback ports, the spike model proven with ezkl and verified
// on-chain over JSON-RPC, a summary, and a clean stop. (The full market demo builds on this skeleton.)
import { parseArgs } from "node:util";
import { JsonRpcProvider } from "ethers";
import { startLocalChain } from "../infra/localChain.js";
import { startLocalRedis } from "../infra/localRedis.js";
import type { LocalService } from "../infra/service.js";
import { SpikeVerifier__factory } from "../types/ethers-contracts/index.js";
import { ensureCircuit, loadModelSpec } from "../zk/circuit.js";
import { prove } from "../zk/prover.js";
import { readFile } from "node:fs/promises";
import path from "node:path";

const { values: flags } = parseArgs({
  options: { keep: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
});
if (flags.help) {
  console.log("usage: make demo [ARGS=--keep]\n  --keep  leave the chain and Redis running until Ctrl-C");
  process.exit(0);
}

const services: LocalService[] = [];
let stopping: Promise<void> | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const s of services.reverse()) {
      await s.stop();
      step(`stopped ${s.name}`);
    }
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void stopAll().then(() => process.exit(130)));
}

function step(msg: string): void {
  console.log(`\x1b[36m[demo]\x1b[0m ${msg}`);
}
async function timed<T>(label: string, fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  const secs = (performance.now() - t0) / 1000;
  step(`${label} (${secs.toFixed(2)}s)`);
  return [value, secs];
}

async function main(): Promise<void> {
  const [redis] = await timed("redis-server up", startLocalRedis);
  services.push(redis);
  const [chain] = await timed("chain (hardhat node) up", startLocalChain);
  services.push(chain);
  step(`redis ${redis.url} · chain ${chain.url}`);

  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 200 });
  const signer = await provider.getSigner(0);
  const spec = await loadModelSpec("spike");
  const [circuit] = await timed(`circuit for model '${spec.name}' ready`, () => ensureCircuit(spec));
  const [verifier] = await timed("SpikeVerifier deployed", async () => {
    const c = await new SpikeVerifier__factory(signer).deploy();
    return c.waitForDeployment();
  });

  const sample = JSON.parse(await readFile(path.join(spec.dir, spec.sample), "utf8")) as { input_data: number[][] };
  const input = sample.input_data[0]!;
  const [proof, proveSecs] = await timed(`proved ${spec.name}(${input.join(", ")})`, () => prove(circuit, input));
  const [receipt] = await timed("proof verified on-chain", async () => {
    const tx = await verifier.verifyProof(proof.proof, proof.instances);
    const r = await tx.wait();
    if (r?.status !== 1) throw new Error("verification transaction failed");
    return r;
  });
  const [, callSecs] = await timed("re-checked with eth_call", async () => {
    if (!(await verifier.verifyProof.staticCall(proof.proof, proof.instances))) throw new Error("eth_call rejected");
  });

  console.log("\nSummary (placeholder: the market demo comes with the contracts and services)");
  console.table({
    model: { value: `${spec.name} (logrows ${circuit.logrows})` },
    outputs: { value: proof.outputs.join(", ") },
    "prove time": { value: `${proveSecs.toFixed(2)} s` },
    "proof size": { value: `${(proof.proof.length - 2) / 2} bytes` },
    "verifier gas": { value: receipt.gasUsed.toString() },
    "verification asymmetry": { value: `prove / eth_call verify = ${(proveSecs / callSecs).toFixed(0)}x` },
  });
  provider.destroy();

  if (flags.keep) {
    step(`running: chain ${chain.url}, redis ${redis.url}. Ctrl-C to stop.`);
    await new Promise(() => undefined);
  }
}

try {
  await main();
  await stopAll();
} catch (e) {
  console.error(`\x1b[31m[demo] failed:\x1b[0m ${e instanceof Error ? e.message : String(e)}`);
  await stopAll();
  process.exitCode = 1;
}
