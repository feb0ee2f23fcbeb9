// The models this operator can prove: each configured registry model id with its installed bundle (pulled into
// the data directory with `verdict model pull`), checked against the registered version's hashes. Loading never
// builds: no key generation, no SRS. Also the measured proving time per model, kept in Redis so every operator
// process (and restarts) share it.
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { VerdictError } from "../shared/errors.js";
import { ModelStatus } from "../shared/enums.js";
import type { ModelRegistry } from "../types/ethers-contracts/index.js";
import type { CircuitArtifacts } from "../zk/runtime/artifacts.js";
import { batchesOf, loadBundle } from "../zk/runtime/bundle.js";

/** A batch circuit of a served model: one proof for up to `slots` of its jobs (registry batch verifier `batchId`). */
export interface BatchCircuit {
  batchId: number;
  slots: number;
  circuit: CircuitArtifacts;
}

export interface CatalogEntry {
  modelId: number;
  circuit: CircuitArtifacts;
  /** Its registered batch circuits with an installed bundle, fewest slots first (none: every job proven alone). */
  batches: BatchCircuit[];
}

export class ModelCatalog {
  private constructor(
    private readonly byId: Map<number, CatalogEntry>,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Loads the installed bundle of each registry model id from `home`. A missing or mismatching bundle fails
   * start-up (with the pull command to run); a deprecated model is skipped with a warning.
   */
  static async load(modelIds: number[], home: string, registry: ModelRegistry, redis: Redis, prefix: string, log: Logger): Promise<ModelCatalog> {
    const count = Number(await registry.modelCount());
    const byId = new Map<number, CatalogEntry>();
    for (const modelId of modelIds) {
      if (modelId < 1 || modelId > count) throw new VerdictError("UNKNOWN_MODEL", `model ${modelId} is not registered on this chain (${count} models)`, "`verdict model list` shows the registered ids");
      const version = await registry.model(modelId);
      if (Number(version.status) !== ModelStatus.Active) {
        log.warn({ modelId }, "model is deprecated on this chain; its jobs will be skipped");
        continue;
      }
      const circuit = await loadBundle(home, modelId, version);
      const batches = await loadBatches(registry, modelId, home, log);
      byId.set(modelId, { modelId, circuit, batches });
      log.info({ model: circuit.name, modelId, logrows: circuit.logrows, bundle: circuit.dir, batchSlots: batches.map((b) => b.slots) }, "model ready");
    }
    return new ModelCatalog(byId, redis, prefix);
  }

  get(modelId: number): CatalogEntry | undefined {
    return this.byId.get(modelId);
  }

  ids(): number[] {
    return [...this.byId.keys()];
  }

  private key(modelId: number, what = "prove-stats"): string {
    return `${this.prefix}:${what}:${modelId}`;
  }

  /** Redis key of the proving statistics of a model's proofs of `slots` jobs (1: its single-job circuit). */
  private statsKey(modelId: number, slots: number): string {
    return slots === 1 ? this.key(modelId) : this.key(modelId, `prove-stats-x${slots}`);
  }

  /** Expected proving seconds for a model: the measured moving average, or a logrows-based guess before any. */
  async proveSeconds(modelId: number): Promise<number> {
    return (await this.proveStats(modelId)).mean;
  }

  /**
   * Proving seconds that a proof rarely exceeds (mean + 2 standard deviations of the measurements): what admission
   * plans with, since a proof slower than planned is a missed deadline and a slash.
   */
  async proveBound(modelId: number, slots = 1): Promise<number> {
    const { mean, variance } = await this.proveStats(modelId, slots);
    return mean + 2 * Math.sqrt(variance);
  }

  private async proveStats(modelId: number, slots = 1): Promise<{ mean: number; variance: number }> {
    const [mean, variance] = await this.redis.hmget(this.statsKey(modelId, slots), "mean", "variance");
    if (mean) return { mean: Number(mean), variance: Number(variance ?? 0) };
    const entry = this.byId.get(modelId);
    const logrows = (slots === 1 ? entry?.circuit : entry?.batches.find((b) => b.slots === slots)?.circuit)?.logrows ?? 20;
    return { mean: 2 ** Math.max(0, logrows - 10), variance: 0 }; // ~1 s at logrows 10, doubling per row count doubling
  }

  /** Folds a new measurement of a proof of `slots` jobs into its moving average and variance (weight 0.3 on the newest). */
  async recordProveSeconds(modelId: number, seconds: number, slots = 1): Promise<void> {
    const key = this.statsKey(modelId, slots);
    const [mean, variance] = await this.redis.hmget(key, "mean", "variance");
    const next = mean === null ? { mean: seconds, variance: 0 } : ema(Number(mean), Number(variance ?? 0), seconds);
    await this.redis.hset(key, { mean: next.mean.toFixed(4), variance: next.variance.toFixed(6) });
  }

  /** Gas of this operator's mined lock or fulfilment of a model (receipts), for pricing the next jobs. */
  async recordGas(modelId: number, kind: "lock" | "fulfil", gas: number): Promise<void> {
    await this.redis.set(this.key(modelId, `${kind}-gas`), String(gas));
  }

  /** Gas of locking and fulfilling one job of the model, as last measured; `fallback` until both were measured. */
  async expectedGas(modelId: number, fallback: number): Promise<number> {
    const [lock, fulfil] = await this.redis.mget(this.key(modelId, "lock-gas"), this.key(modelId, "fulfil-gas"));
    return lock && fulfil ? Number(lock) + Number(fulfil) : fallback;
  }
}

/**
 * The batch circuits registered for `modelId` whose bundles are installed. A batch bundle not pulled is no reason
 * to refuse the model (its jobs are then proven one by one), so it is only logged.
 */
async function loadBatches(registry: ModelRegistry, modelId: number, home: string, log: Logger): Promise<BatchCircuit[]> {
  const loaded: BatchCircuit[] = [];
  for (const b of await batchesOf(registry, modelId)) {
    try {
      loaded.push({ batchId: b.batchId, slots: b.slots, circuit: await loadBundle(home, modelId, b) });
    } catch (e) {
      if (!(e instanceof VerdictError && e.code === "BUNDLE_MISSING")) throw e;
      log.warn({ modelId, batchId: b.batchId, slots: b.slots }, "batch bundle not installed: this model's jobs are proven one by one");
    }
  }
  return loaded;
}

const WEIGHT = 0.3;

/** Exponentially weighted moving mean and variance (West's incremental form). */
function ema(mean: number, variance: number, x: number): { mean: number; variance: number } {
  const diff = x - mean;
  const incr = WEIGHT * diff;
  return { mean: mean + incr, variance: (1 - WEIGHT) * (variance + diff * incr) };
}
