// EIP-712 messages the operator signs for the relayer to submit: Lock, Fulfil and FulfilBatch (types and domain in
// shared/eip712.ts).
import { ZeroAddress, type Signer, type TypedDataDomain } from "ethers";
import { FULFIL_BATCH_TYPES, FULFIL_TYPES, LOCK_TYPES, marketDomain } from "../shared/eip712.js";
import type { FulfilBatchRequest, FulfilRequest, LockRequest } from "../relayer/types.js";
import type { OperatorContext } from "./pipeline.js";

async function domain(ctx: OperatorContext): Promise<TypedDataDomain> {
  return marketDomain(ctx.chain.chainId, await ctx.market.getAddress());
}

/**
 * Signs a Lock for `jobId` naming `terms`, the job's terms digest as emitted in its JobCreated event (the terms the
 * operator evaluated): after a reorg that hands the id to another job, the signature locks nothing (review M-2).
 */
export async function signLock(ctx: OperatorContext, jobId: string, terms: string, validUntil: number): Promise<LockRequest> {
  const signature = await ctx.chain.signer.signTypedData(await domain(ctx), LOCK_TYPES, { jobId, terms, operator: ctx.address, validUntil });
  return { kind: "lock", chainId: ctx.chain.chainId.toString(), market: await ctx.market.getAddress(), jobId, terms, operator: ctx.address, validUntil: String(validUntil), signature };
}

/** Signs a fulfilment any relayer may submit, without a fee (the operator runs or trusts its relayer). */
export async function signFulfil(ctx: OperatorContext, jobId: string, proof: string, instances: string[]): Promise<FulfilRequest> {
  return fulfilRequest(ctx.chain.signer, ctx.chain.chainId, await ctx.market.getAddress(), jobId, proof, instances);
}

/** The fee-less fulfilment request `signer` (the locking operator) signs for `market` on chain `chainId`. */
export async function fulfilRequest(signer: Signer, chainId: bigint, market: string, jobId: string, proof: string, instances: string[]): Promise<FulfilRequest> {
  const auth = { jobId, proof, instances, relayerFee: "0", relayer: ZeroAddress };
  const signature = await signer.signTypedData(marketDomain(chainId, market), FULFIL_TYPES, auth);
  return { kind: "fulfil", chainId: chainId.toString(), market, auth: { ...auth, signature } };
}

/**
 * Signs one proof of batch circuit `batchId` for the jobs on its slots (`jobIds[k]` on slot k, "0" for padding), a
 * fulfilment any relayer may submit, without a fee.
 */
export async function signFulfilBatch(ctx: OperatorContext, batchId: number, jobIds: string[], proof: string, instances: string[]): Promise<FulfilBatchRequest> {
  const auth = { batchId: String(batchId), jobIds, proof, instances, relayerFee: "0", relayer: ZeroAddress };
  const signature = await ctx.chain.signer.signTypedData(await domain(ctx), FULFIL_BATCH_TYPES, auth);
  return { kind: "fulfilBatch", chainId: ctx.chain.chainId.toString(), market: await ctx.market.getAddress(), auth: { ...auth, operator: ctx.address, signature } };
}
