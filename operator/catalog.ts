// The models this operator can prove: each configured model folder's circuit (built or cached), matched to the
// registered model version on-chain by its content hashes. Also the measured proving time per model, kept in
// Redis so every operator process (and restarts) share it.
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { ModelStatus } from "./status.js";
import type { ModelRegistry } from "../types/ethers-contracts/index.js";
import { ensureCircuit, loadModelSpec, registryHashes, type CircuitArtifacts } from "../zk/circuit.js";

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

  /** Builds (or loads) each model's circuit and finds its active registered version. */
  static async load(models: string[], registry: ModelRegistry, redis: Redis, prefix: string, log: Logger): Promise<ModelCatalog> {
    const count = Number(await registry.modelCount());
    const versions = await Promise.all(Array.from({ length: count }, (_, i) => registry.model(i + 1).then((m) => ({ id: i + 1, m }))));
    const byId = new Map<number, CatalogEntry>();
    for (const name of models) {
      const circuit = await ensureCircuit(await loadModelSpec(name));
      const hashes = await registryHashes(circuit);
      const match = versions.find(({ m }) => m.vkHash === hashes.vkHash && m.circuitHash === hashes.circuitHash && Number(m.status) === ModelStatus.Active);
      if (!match) {
        log.warn({ model: name }, "model is not registered (or deprecated) on this chain; its jobs will be skipped");
        continue;
      }
      byId.set(match.id, { modelId: match.id, circuit });
      log.info({ model: name, modelId: match.id, logrows: circuit.logrows }, "model ready");
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
