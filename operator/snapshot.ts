// The chain state evaluation decides on, read once per block (one batched JSON-RPC request) and shared by every
// evaluation in that block: time, fees, this operator's free stake and which served models are active. A job is
// then judged on its JobCreated event and this snapshot alone, so a burst of jobs — or spam — costs the operator
// no RPC per job (review S2-5, issue 14); the lock stage reconciles with the chain before anything is signed.
import { ModelStatus } from "../shared/enums.js";
import type { OperatorContext } from "./pipeline.js";
import { blockSeconds } from "./reconcile.js";

export interface Snapshot {
  block: number;
  /** Block timestamp, seconds. */
  timestamp: number;
  /** What a transaction is expected to pay per gas: base fee + priority fee (not the fee cap, twice the base fee). */
  gasPrice: bigint;
  freeStake: bigint;
  activeModels: Set<number>;
  blockSeconds: number;
}

export class ChainSnapshot {
  #current?: Promise<Snapshot>;
  #block = -1;

  /** The snapshot of the latest block, read when the chain has moved on since the last one. */
  async get(ctx: OperatorContext): Promise<Snapshot> {
    const head = await ctx.chain.provider.getBlockNumber();
    if (head !== this.#block || !this.#current) {
      this.#block = head;
      this.#current = this.#read(ctx);
      this.#current.catch(() => (this.#current = undefined));
    }
    return this.#current;
  }

  async #read(ctx: OperatorContext): Promise<Snapshot> {
    const ids = ctx.catalog.ids();
    // Issued together, so ethers sends them as one JSON-RPC batch.
    const [block, fees, freeStake, seconds, layouts] = await Promise.all([
      ctx.chain.provider.getBlock("latest"),
      ctx.chain.provider.getFeeData(),
      ctx.staking.freeStake(ctx.address),
      blockSeconds(ctx),
      Promise.all(ids.map((id) => ctx.registry.layout(id))),
    ]);
    if (!block) throw new Error("the node returned no latest block");
    const gasPrice = block.baseFeePerGas != null ? block.baseFeePerGas + (fees.maxPriorityFeePerGas ?? 0n) : (fees.gasPrice ?? 0n);
    return {
      block: block.number,
      timestamp: block.timestamp,
      gasPrice,
      freeStake,
      activeModels: new Set(ids.filter((_, i) => Number(layouts[i]![4]) === ModelStatus.Active)),
      blockSeconds: seconds,
    };
  }
}
