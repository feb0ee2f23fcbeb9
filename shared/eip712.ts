// EIP-712 types and domain of the messages operators sign for relayers to submit (Lock, Fulfil, FulfilBatch): the
// operator signs them (operator/signing.ts), the relayer recovers their signer (relayer/kinds.ts). They mirror
// InferenceMarket (name "Verdict InferenceMarket", version "1").
import type { TypedDataDomain } from "ethers";

export const LOCK_TYPES = {
  Lock: [
    { name: "jobId", type: "uint256" },
    { name: "terms", type: "bytes32" },
    { name: "operator", type: "address" },
    { name: "validUntil", type: "uint64" },
  ],
};
export const FULFIL_TYPES = {
  Fulfil: [
    { name: "jobId", type: "uint256" },
    { name: "proof", type: "bytes" },
    { name: "instances", type: "uint256[]" },
    { name: "relayerFee", type: "uint128" },
    { name: "relayer", type: "address" },
  ],
};

/** EIP-712 type of a batch fulfilment (`fulfilBatchProof`): one proof for several jobs, signed by their lock holder. */
export const FULFIL_BATCH_TYPES = {
  FulfilBatch: [
    { name: "batchId", type: "uint32" },
    { name: "jobIds", type: "uint256[]" },
    { name: "proof", type: "bytes" },
    { name: "instances", type: "uint256[]" },
    { name: "relayerFee", type: "uint128" },
    { name: "relayer", type: "address" },
  ],
};

export function marketDomain(chainId: bigint, market: string): TypedDataDomain {
  return { name: "Verdict InferenceMarket", version: "1", chainId, verifyingContract: market };
}
