// The load part of the bench: evaluate on a burst (infra/evaluateBurst.ts: fake chain, real Redis) and the load
// scenario (infra/load.ts: real processes, `hardhat node`, Redis) on automine and on chains that mine a block every
// 2 s and 12 s. Each run is written to bench/results/load.json (automine) or load-<S>s-blocks.json; `make bench`
// puts them in latest.json/latest.md (bench/main.ts calls benchLoad), `make load` runs them alone and writes
// bench/results/load.md too.
//   make load [ARGS="--jobs 1000 --block-time 12"]     one run
//   make load ARGS="--block-times 0,2,12 --chain-jobs 40"   several, with the evaluate burst
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { evaluateBurst, type BurstResult } from "../infra/evaluateBurst.js";
import { runLoad, type LoadResult } from "../infra/load.js";
import { startLocalRedis } from "../infra/localRedis.js";
import { REPO_ROOT } from "../shared/paths.js";
import { isMain, machineInfo } from "./machine.js";

const RESULTS_DIR = path.join(REPO_ROOT, "bench", "results");
/** Jobs of the evaluate burst (one block's worth of JobCreated events). */
const BURST_JOBS = 1_000;

export interface LoadBench {
  evaluate_burst?: BurstResult;
  evaluate_spam_burst?: BurstResult;
  runs: LoadResult[];
}

export function loadFile(blockTimeS: number): string {
  return blockTimeS ? `load-${blockTimeS}s-blocks.json` : "load.json";
}

/** Evaluate on a burst of one block's jobs, with a Redis of its own. */
export async function benchEvaluateBurst(spam = false): Promise<BurstResult> {
  const redis = await startLocalRedis();
  try {
    return await evaluateBurst({ jobs: BURST_JOBS, redisUrl: redis.url, spam });
  } finally {
    await redis.stop();
  }
}

/**
 * The load scenario at each block time (0 = automine): `jobs` jobs on automine, `chainJobs` on interval-mined
 * chains (a 12 s chain drains 1,000 jobs in hours, not minutes), 1 % (at most 10) with an out-of-range input.
 */
export async function benchLoad(opts: { jobs: number; chainJobs: number; blockTimes: number[]; burst: boolean; log: (l: string) => void }): Promise<LoadBench> {
  const out: LoadBench = { runs: [] };
  if (opts.burst) {
    out.evaluate_burst = await benchEvaluateBurst();
    out.evaluate_spam_burst = await benchEvaluateBurst(true);
    for (const e of [out.evaluate_burst, out.evaluate_spam_burst]) opts.log(`evaluate burst (${e.kind}): ${e.jobs} jobs at ${e.jobs_per_s} jobs/s, ${e.rpc_calls_per_job} RPC per job`);
  }
  await mkdir(RESULTS_DIR, { recursive: true });
  for (const s of opts.blockTimes) {
    const jobs = s ? opts.chainJobs : opts.jobs;
    opts.log(`load: ${jobs} jobs, ${s ? `a block every ${s} s` : "automine"}`);
    const r = await runLoad({ jobs, outOfRange: Math.max(1, Math.min(10, Math.floor(jobs / 20))), blockTimeMs: s ? s * 1000 : undefined, log: opts.log });
    await writeFile(path.join(RESULTS_DIR, loadFile(s)), `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: machineInfo(), ...r }, null, 2)}\n`);
    out.runs.push(r);
  }
  return out;
}

const methods = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.replace(/^eth_/, "")} ${v}`)
    .join(", ");

/** The load part of latest.md (and load.md). */
export function loadMarkdown(b: LoadBench): string[] {
  const lines: string[] = [];
  const bursts = [b.evaluate_burst, b.evaluate_spam_burst].filter((e): e is BurstResult => e !== undefined);
  if (bursts.length) {
    lines.push(
      `## Evaluate on a burst (infra/evaluateBurst.ts)`,
      ``,
      `Jobs of one block through the evaluate stage on a fake chain that counts every request. Jobs worth taking pay admission, the snapshot, the circuit's witness check in one warm ezkl process and onnxruntime, and the hand-over to a real BullMQ lock queue; spam (priced at 1 wei) is refused by admission alone.`,
      ``,
      ...bursts.map(
        (e) =>
          `- ${e.kind}: ${e.jobs.toLocaleString("en-US")} jobs (${e.taken} taken), **${e.jobs_per_s.toLocaleString("en-US")} jobs/s**, ${e.rpc_calls_besides_head} chain requests besides the head poller's for the whole burst ` +
          `(${e.rpc_calls_per_job} per job; by method: ${methods(e.rpc_by_method)}).`,
      ),
      ``,
    );
  }
  if (b.runs.length === 0) return lines;
  const chain = (r: LoadResult) => (r.block_time_s ? `${r.block_time_s} s blocks` : "automine");
  const col = (f: (r: LoadResult) => unknown) => b.runs.map((r) => String(f(r) ?? "n/a")).join(" | ");
  lines.push(
    `## Load: a burst of jobs, two operators and one relayer (trusting both: each operator's own) as processes, RPC counted by a proxy (infra/load.ts)`,
    ``,
    `| figure | ${b.runs.map(chain).join(" | ")} |`,
    `|---|${b.runs.map(() => "---:").join("|")}|`,
    `| jobs (fulfilled / refunded out-of-range / lost / duplicated) | ${col((r) => `${r.fulfilled} / ${r.refunded} / ${r.lost} / ${r.duplicated}`)} |`,
    `| honest slashes / relayer nonce errors | ${col((r) => `${r.honest_slashed} / ${r.relayer_nonce_errors}`)} |`,
    `| jobs/s (all) | ${col((r) => r.jobs_per_s)} |`,
    `| jobs/s per operator process | ${col((r) => Object.values(r.jobs_per_s_per_operator).join(" + "))} |`,
    `| latency p50 / p95 (s), post → fulfilled | ${col((r) => `${r.latency_s.p50} / ${r.latency_s.p95}`)} |`,
    `| latency minus proving p50 / p95 (s), queueing behind the burst included | ${col((r) => `${r.overhead_s.p50} / ${r.overhead_s.p95}`)} |`,
    `| … in blocks (p50) | ${col((r) => r.overhead_blocks_p50 ?? "-")} |`,
    `| from a job's proof done to its fulfilment seen p50 / p95 (s) | ${col((r) => `${r.after_proof_s.p50} / ${r.after_proof_s.p95}`)} |`,
    `| blocks from a job's post's block to its fulfilment's p50 / p95 | ${col((r) => (r.post_to_fulfil_blocks ? `${r.post_to_fulfil_blocks.p50} / ${r.post_to_fulfil_blocks.p95}` : "-"))} |`,
    `| … × block time minus proving p50 / p95 (s), queueing included | ${col((r) => (r.overhead_from_post_block_s ? `${r.overhead_from_post_block_s.p50} / ${r.overhead_from_post_block_s.p95}` : "-"))} |`,
    `| lone jobs (median): latency / minus proving (s) / in blocks | ${col((r) => `${r.lone_job.latency_s} / ${r.lone_job.overhead_s} / ${r.lone_job.overhead_blocks ?? "-"}`)} |`,
    `| lone jobs: blocks from its post's block to its fulfilment's, each | ${col((r) => r.lone_job.post_to_fulfil_blocks_each.join(", "))} |`,
    `| lone jobs: from its post's block to its fulfilment's, minus proving (s), median | ${col((r) => String(r.lone_job.overhead_from_post_block_s ?? "-"))} |`,
    `| the first lone job: RPC requests (per service) | ${col((r) => `${r.lone_job.rpc_requests} (${Object.entries(r.lone_job.rpc_by_service).map(([k, v]) => `${k} ${v}`).join(", ")})`)} |`,
    `| proving per job p50 (s) | ${col((r) => r.prove_s_p50)} |`,
    `| gas per job (lock + fulfil) | ${col((r) => r.gas_per_job.toLocaleString("en-US"))} |`,
    `| RPC requests per settled job (all services) | ${col((r) => r.rpc_per_settled_job)} |`,
    `| … per service | ${col((r) => Object.entries(r.rpc_per_settled_job_by_service).map(([k, v]) => `${k} ${v}`).join(", "))} |`,
    `| idle requests per block, per service | ${col((r) => (r.idle_rpc_per_block ? Object.entries(r.idle_rpc_per_block).map(([k, v]) => `${k} ${v}`).join(", ") : "-"))} |`,
    `| relayer tx/s | ${col((r) => r.relayer_tx_per_s)} |`,
    ``,
    `Where the requests of the burst went (counted by the proxy per service and method; inside the operators per scope):`,
    ``,
  );
  for (const r of b.runs) {
    lines.push(`- **${chain(r)}**, ${r.rpc_requests} requests for ${r.fulfilled} settled jobs:`);
    for (const [service, m] of Object.entries(r.rpc_by_service)) lines.push(`  - ${service}: ${methods(m)}`);
    for (const [scope, m] of Object.entries(r.operator_rpc_by_scope)) lines.push(`  - operators, ${scope}: ${methods(m)}`);
  }
  lines.push(``);
  return lines;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "1000" },
      "block-time": { type: "string" },
      "block-times": { type: "string" },
      "chain-jobs": { type: "string" },
    },
  });
  const say = (l: string) => console.log(`\x1b[36m[load]\x1b[0m ${l}`);
  const several = values["block-times"] !== undefined;
  const blockTimes = several ? values["block-times"]!.split(",").map(Number) : [Number(values["block-time"] ?? 0)];
  const jobs = Number(values.jobs);
  const result = await benchLoad({ jobs, chainJobs: Number(values["chain-jobs"] ?? jobs), blockTimes, burst: several, log: say });
  if (several) {
    const m = machineInfo();
    const md = [`# Load bench`, ``, `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, load average ${m.loadAverage1m}. Generated ${new Date().toISOString()}.`, ``, ...loadMarkdown(result)].join("\n");
    await writeFile(path.join(RESULTS_DIR, "load.md"), md);
    say("wrote bench/results/load.md");
  }
  console.log(JSON.stringify(result, null, 2));
  const ok = result.runs.every((r) => r.lost === 0 && r.duplicated === 0 && r.honest_slashed === 0 && r.relayer_nonce_errors === 0);
  process.exit(ok ? 0 : 1);
}
