// A slasher bot for the load and chaos suites (review T-4): slashing needs an explicit transaction after a job's
// secondary window, so without one an honest operator that failed a job would never show up as slashed.
import type { Block } from "ethers";
import type { InferenceMarket } from "../types/ethers-contracts/index.js";

/** Runs the chain past the secondary window of every job in `ids` still Locked and slashes each; returns how many. */
export async function slashStillLocked(market: InferenceMarket, provider: { send(method: string, params: unknown[]): Promise<unknown>; getBlock(tag: "latest"): Promise<Block | null> }, ids: bigint[]): Promise<number> {
  const locked: bigint[] = [];
  for (const id of ids) if ((await market.jobOf(id)).status === 2n) locked.push(id);
  if (locked.length === 0) return 0;
  let latest = 0n;
  for (const id of locked) {
    const expiry = await market.expiryOf(id);
    if (expiry > latest) latest = expiry;
  }
  const now = BigInt((await provider.getBlock("latest"))!.timestamp);
  await provider.send("evm_increaseTime", [Number(latest - now + 1n)]);
  await provider.send("evm_mine", []);
  for (const id of locked) await (await market.slash(id)).wait();
  return locked.length;
}
