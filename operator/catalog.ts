// The models this operator can prove: each configured registry model id with its installed bundle (pulled into
// the data directory with `verdict model pull`), checked against the registered version's hashes. Loading never
// builds: no key generation, no SRS. Also the measured proving time per model, kept in Redis so every operator
// process (and restarts) share it.
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { VerdictError } from "../shared/errors.js";
import { ModelStatus } from "./status.js";
import type { ModelRegistry } from "../types/ethers-contracts/index.js";
import type { CircuitArtifacts } from "../zk/artifacts.js";
import { loadBundle } from "../zk/bundle.js";

export interface CatalogEntry {
  modelId: number;
  circuit: CircuitArtifacts;
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
      byId.set(modelId, { modelId, circuit });
      log.info({ model: circuit.name, modelId, logrows: circuit.logrows, bundle: circuit.dir }, "model ready");
    }
    return new ModelCatalog(byId, redis, prefix);
  }

  get(modelId: number): CatalogEntry | undefined {
    return this.byId.get(modelId);
  }

  ids(): number[] {
    return [...this.byId.keys()];
  }

  private key(modelId: number): string {
    return `${this.prefix}:prove-seconds:${modelId}`;
  }

  /** Expected proving seconds for a model: the measured moving average, or a logrows-based guess before any. */
  async proveSeconds(modelId: number): Promise<number> {
    const measured = await this.redis.get(this.key(modelId));
    if (measured) return Number(measured);
    const logrows = this.byId.get(modelId)?.circuit.logrows ?? 20;
    return 2 ** Math.max(0, logrows - 10); // ~1 s at logrows 10, doubling per row count doubling
  }

  /** Folds a new measurement into the moving average (weight 0.3 on the newest). */
  async recordProveSeconds(modelId: number, seconds: number): Promise<void> {
    const previous = await this.redis.get(this.key(modelId));
    const next = previous ? 0.7 * Number(previous) + 0.3 * seconds : seconds;
    await this.redis.set(this.key(modelId), next.toFixed(3));
  }
}
