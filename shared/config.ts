// The one configuration schema for the operator, relayer and CLI: a JSON file (optional) overlaid by VERDICT_*
// environment variables, validated at start-up with messages that name the bad field. Secrets (keys) come from
// the environment only and are never logged. Units are in the field names (Ms, Seconds, Wei, Gwei).
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { DEFAULT_RPC_URL } from "./chain.js";
import { VerdictError } from "./errors.js";
import { DEFAULT_HOME } from "./paths.js";

const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 0x-prefixed 32-byte hex private key");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a 0x-prefixed 20-byte address");

export const configSchema = z
  .object({
    /** JSON-RPC endpoint of the chain. */
    rpcUrl: z.string().url().default(DEFAULT_RPC_URL),
    /** Redis for the BullMQ queues (AOF persistence recommended: a restart then loses no job). */
    redisUrl: z.string().url().default("redis://127.0.0.1:6379"),
    /** Prefix of every Redis key, so several deployments can share one Redis. */
    queuePrefix: z.string().default("verdict"),
    /** Folder with Ignition's deployed_addresses.json per chain (default deploy/deployments). */
    deploymentsDir: z.string().optional(),
    /** Data directory: installed model bundles under bundles/ (VERDICT_HOME; default ~/.verdict). */
    home: z.string().min(1).default(DEFAULT_HOME),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error"]).default("info"),
    /** Port of /metrics, /livez, /readyz and /queues (bull-board); 0 disables the server. */
    httpPort: z.number().int().min(0).max(65535).default(0),
    /** Address the HTTP server binds: 127.0.0.1 (this host only) by default; 0.0.0.0 for a Prometheus elsewhere
     * (then firewall it: /queues can retry and delete jobs). */
    httpHost: z.string().min(1).default("127.0.0.1"),
    operator: z
      .object({
        /** Signs locks and fulfilments: VERDICT_OPERATOR_KEY (deprecated). The operator signs with VERDICT_KEY / VERDICT_KEYSTORE first (shared/keys.ts). */
        privateKey: privateKey.optional(),
        /** Blocks a JobCreated event must be buried under before the operator acts on it (reorg safety). Default by
         * chain (operator/reconcile.ts confirmationsFor): 1 on Ethereum and its testnets, 0 on sequencer L2s and dev chains. */
        confirmations: z.number().int().min(0).optional(),
        pollIntervalMs: z.number().int().positive().default(1000),
        /** Never scan below this block. A fresh operator (no cursor in Redis) starts at the later of this and the
         * oldest block that can hold a live job (head - the market's maxJobDuration). */
        startBlock: z.number().int().min(0).default(0),
        /** Registry model ids this operator proves; each needs its bundle installed in `home` (`verdict model pull <id>`). */
        models: z.array(z.coerce.number().int().positive()).default([]),
        /** Lowest acceptable price after estimated gas, in wei of the payment token. */
        minProfitWei: z.coerce.bigint().default(0n),
        /** Seconds kept in hand between the estimated end of proving and the job's deadline. */
        deadlineMarginSeconds: z.number().int().min(0).default(30),
        /** Parallel proofs in this process; bounded by cores (CPU) or GPUs. 0: proofs run only on prove workers
         * (operator/proveWorker.ts) on other machines. */
        proveConcurrency: z.number().int().min(0).default(1),
        /** Parallel proofs of this operator's prove workers on other machines, counted by admission. */
        remoteProveSlots: z.number().int().min(0).default(0),
        /** A job whose lock is on its way is proven at once, instead of once the lock is mined, when its proof would
         * start within a block (the provers' queue ahead of it, at the model's measured proving time): its
         * fulfilment can then follow the lock into the same block (with a relayer that sends it right behind the
         * lock: relayer.fulfilBehindLock). A lock lost to another operator wastes at most the proving done before
         * its outcome was known. */
        proveWhileLocking: z.boolean().default(true),
        /** For a prove worker: the address of the operator it proves for (VERDICT_OPERATOR_ADDRESS); no key. */
        address: address.optional(),
        executionProvider: z.enum(["cpu", "cuda"]).default("cpu"),
        /** A proof is submitted only when each proven (quantized) output is within this of onnxruntime's float
         * output, relative to max(1, |float|): a circuit whose fixed-point settings lose the answer must not
         * deliver it as verified. Applies to models whose bundle manifest states no tolerance of its own
         * (model.json `tolerance`). */
        outputTolerance: z.number().positive().default(0.05),
        /** A locked job of a model with batch circuits waits at most this long for others of its model, to be
         * proven with them as one batch proof (one fulfilment transaction), and only while every job of the
         * group still meets its deadline with the batch's measured proving time. 0: never batch. */
        batchWindowMs: z.number().int().min(0).default(3_000),
        /** A worker that dies mid-job (crash, SIGKILL) loses its BullMQ lock after this long; the job is then
         * handed to another worker (or the restarted one). Longer than any single stage takes. */
        jobLockMs: z.number().int().min(1000).default(60_000),
        /** Gas assumed for lock + fulfil when pricing a job of a model before this operator has measured its own
         * (measured: ~53k + ~670-730k for the demo models). Priced at the expected fee (base fee + tip). */
        estimatedGas: z.number().int().positive().default(900_000),
        /** A job declined for a reason that can pass (fees, stake tied up, a backlog) is looked at again after this
         * long, for as long as it can still be locked. */
        reevaluateMs: z.number().int().min(100).default(5_000),
        /** Where the relayer this operator uses takes its requests: its Redis and queue prefix (default: this
         * operator's own redisUrl and queuePrefix). An operator's pipeline can then stay private to it while a
         * relayer run by someone else serves many operators. */
        relayRedisUrl: z.string().url().optional(),
        relayQueuePrefix: z.string().optional(),
      })
      .default({}),
    relayer: z
      .object({
        /** Sends transactions: VERDICT_RELAYER_KEY (deprecated). The relayer signs with VERDICT_KEY / VERDICT_KEYSTORE first (shared/keys.ts). */
        privateKey: privateKey.optional(),
        confirmations: z.number().int().min(1).default(1),
        /** A transaction unmined after this long is replaced at the same nonce with a higher fee. */
        stuckAfterMs: z.number().int().positive().default(30_000),
        /** Fee bump for a replacement, in percent (nodes require >= 10). */
        feeBumpPercent: z.number().int().min(10).default(15),
        maxFeePerGasGwei: z.number().positive().default(500),
        /** More relayer keys (VERDICT_RELAYER_KEYS, comma-separated), beside the main one: each has its own nonce
         * stream and inclusion tracker, and requests are spread over them (a stuck nonce then holds up one key's
         * share only). Fund each; a key must not be used by any other sender. */
        privateKeys: z.array(privateKey).default([]),
        /** Relay jobs taken at once. A relay holds its slot only until broadcast (the tracker waits for blocks),
         * so this bounds requests in the batch window and in simulation, not transactions awaiting a block. */
        concurrency: z.number().int().positive().default(256),
        /** Fulfilments arriving within this window share one fulfilBatch transaction (ms; keep it under the block
         * time). While the chain's cadence is known the window stays open until shortly before the next block is
         * due instead (at most one block): the batch still makes that block, with every fulfilment that came. */
        batchWindowMs: z.number().int().min(0).default(200),
        /** Gas a batch may use at most; below the chain's per-transaction cap (2^24 since Osaka, EIP-7825). */
        maxTxGas: z.number().int().positive().default(15_000_000),
        /** Gas limit = the measured gas of the request kind (eth_estimateGas only the first time) times this, in
         * percent: the state can change between simulation and mining. */
        gasLimitPercent: z.number().int().min(100).default(130),
        /** Operators (VERDICT_RELAYER_TRUSTED_OPERATORS, comma-separated) whose signed fulfilments this relayer sends
         * without simulating them first: an operator's own relayer, since its verify stage checked each proof (one
         * verifier run a fulfilment instead of two). Its signature is recovered, not taken from the request. The
         * risk: a fulfilment that fails on chain costs the relayer its gas (in a batch, that item's share only);
         * the job's later requests are simulated. Anyone else's requests are always simulated. */
        trustedOperators: z.array(address).default([]),
        /** A trusted operator's fulfilment of a job whose lock this relayer has broadcast but not yet seen mined is
         * sent right behind the lock, from the same key (the next nonce orders it after the lock), instead of after
         * the lock's block: with the operator proving while its lock lands (operator.proveWhileLocking), a job can
         * be locked and fulfilled in one block. The risk: the proof is public in the mempool before the job is
         * locked, and another staked operator of the model could lock the job first with a higher tip and fulfil it
         * with that proof. Turn on where transactions are not public before inclusion (a rollup's sequencer, a
         * private transaction pool); if the lock fails, its fulfilment fails alone in its batch (gas for nothing). */
        fulfilBehindLock: z.boolean().default(false),
        /** A relayer that dies mid-relay (crash, SIGKILL) loses its BullMQ lock on the relay job after this long;
         * the job is then handed to another relayer process (or the restarted one), which resumes its transaction. */
        jobLockMs: z.number().int().min(1000).default(60_000),
      })
      .default({}),
  })
  .strict()
  .refine((c) => c.operator.proveConcurrency + c.operator.remoteProveSlots > 0, {
    message: "with proveConcurrency 0 the proofs run on prove workers elsewhere: set remoteProveSlots to their parallel proofs",
    path: ["operator", "remoteProveSlots"],
  })
  // The operator moves a job on once its lock is confirmed to the relayer's depth; a reorg deeper than that but
  // within the operator's depth would drop a lock the pipeline already counted on, and the job would be lost.
  .refine((c) => c.relayer.confirmations >= (c.operator.confirmations ?? 0), {
    message: "relayer.confirmations must be at least operator.confirmations (a reorg could otherwise drop a lock the operator already acted on)",
    path: ["relayer", "confirmations"],
  });
export type Config = z.infer<typeof configSchema>;

/** Reads `file` (if given, else VERDICT_CONFIG) and the environment, and validates the result; throws a VerdictError listing every problem. */
export function loadConfig(fileArg?: string, env: NodeJS.ProcessEnv = process.env): Config {
  const file = fileArg ?? env.VERDICT_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    if (!existsSync(file)) throw new VerdictError("CONFIG_NOT_FOUND", `config file ${file} does not exist`);
    // Whole-line // comments are allowed, so the example config can explain each option and its risks.
    raw = JSON.parse(readFileSync(file, "utf8").replace(/^\s*\/\/.*$/gm, "")) as Record<string, unknown>;
  }
  const section = (name: string) => ({ ...((raw[name] as object | undefined) ?? {}) }) as Record<string, unknown>;
  const operator = section("operator");
  const relayer = section("relayer");
  if (env.VERDICT_OPERATOR_KEY) operator.privateKey = env.VERDICT_OPERATOR_KEY;
  if (env.VERDICT_RELAYER_KEY) relayer.privateKey = env.VERDICT_RELAYER_KEY;
  if (env.VERDICT_RELAYER_KEYS) relayer.privateKeys = env.VERDICT_RELAYER_KEYS.split(",");
  if (env.VERDICT_RELAYER_TRUSTED_OPERATORS) relayer.trustedOperators = env.VERDICT_RELAYER_TRUSTED_OPERATORS.split(",");
  if (env.VERDICT_RELAYER_FULFIL_BEHIND_LOCK) relayer.fulfilBehindLock = env.VERDICT_RELAYER_FULFIL_BEHIND_LOCK === "true";
  if (env.VERDICT_MODELS) operator.models = env.VERDICT_MODELS.split(",");
  if (env.VERDICT_OPERATOR_ADDRESS) operator.address = env.VERDICT_OPERATOR_ADDRESS;
  if (env.VERDICT_PROVE_CONCURRENCY) operator.proveConcurrency = Number(env.VERDICT_PROVE_CONCURRENCY);
  if (env.VERDICT_BATCH_WINDOW_MS) operator.batchWindowMs = Number(env.VERDICT_BATCH_WINDOW_MS);
  if (env.VERDICT_RELAY_REDIS_URL) operator.relayRedisUrl = env.VERDICT_RELAY_REDIS_URL;
  if (env.VERDICT_RELAY_QUEUE_PREFIX) operator.relayQueuePrefix = env.VERDICT_RELAY_QUEUE_PREFIX;
  const merged = {
    ...raw,
    ...(env.VERDICT_RPC_URL ? { rpcUrl: env.VERDICT_RPC_URL } : {}),
    ...(env.VERDICT_REDIS_URL ? { redisUrl: env.VERDICT_REDIS_URL } : {}),
    ...(env.VERDICT_QUEUE_PREFIX ? { queuePrefix: env.VERDICT_QUEUE_PREFIX } : {}),
    ...(env.VERDICT_HOME ? { home: env.VERDICT_HOME } : {}),
    ...(env.VERDICT_DEPLOYMENTS_DIR ? { deploymentsDir: env.VERDICT_DEPLOYMENTS_DIR } : {}),
    ...(env.VERDICT_LOG_LEVEL ? { logLevel: env.VERDICT_LOG_LEVEL } : {}),
    ...(env.VERDICT_HTTP_PORT ? { httpPort: Number(env.VERDICT_HTTP_PORT) } : {}),
    ...(env.VERDICT_HTTP_HOST ? { httpHost: env.VERDICT_HTTP_HOST } : {}),
    operator,
    relayer,
  };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
    throw new VerdictError("BAD_CONFIG", `invalid configuration${file ? ` (${file})` : ""}:\n${problems}`, "see config/example.json for every option with its default");
  }
  return parsed.data;
}
