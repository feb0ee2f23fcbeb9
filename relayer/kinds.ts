// The request kinds the relayer knows, one entry each: how a request becomes calldata, which on-chain job it is
// for, and, for a kind that can share a transaction, how several become one batch call and how the receipt says
// which item failed. Adding a kind is one entry here (and its request type in types.ts).
import { verifyTypedData, type Interface, type TransactionReceipt } from "ethers";
import { FULFIL_TYPES, marketDomain } from "../shared/eip712.js";
import { describeRevert } from "../shared/rpcErrors.js";
import { InferenceMarket__factory } from "../types/ethers-contracts/index.js";
import { relayedJobs, type RelayRequest } from "./types.js";

export const market = InferenceMarket__factory.createInterface();

/** InferenceMarket.MAX_BATCH: items one fulfilBatch takes at most. */
export const MAX_BATCH_ITEMS = 32;

type Kind = RelayRequest["kind"];
type RequestOf<K extends Kind> = Extract<RelayRequest, { kind: K }>;

export interface KindSpec<R extends RelayRequest> {
  jobId(r: R): string;
  calldata(r: R): string;
  /** The key that must send it, when the request names one (a fee goes only to the relayer it names). */
  sender?(r: R): string | undefined;
  /** The operator whose EIP-712 signature the request carries (recovered, not claimed), for relayer.trustedOperators. */
  signer?(r: R, chainId: bigint): string;
  /** For a call that settles jobs one by one: why each job it did not settle failed, by on-chain job id (decoded
   * from the receipt's events). */
  failures?(receipt: TransactionReceipt, marketAddress: string): Map<string, string>;
  /** Present when requests of this kind can share one transaction (each item fails or succeeds on its own). */
  batch?: {
    calldata(rs: R[]): string;
    /** The batch call's per-item results in a simulation (eth_call's return data). */
    simulated(returnData: string): boolean[];
  };
}

const namedRelayer = (relayer: string) => (BigInt(relayer) === 0n ? undefined : relayer);

const KINDS: { [K in Kind]: KindSpec<RequestOf<K>> } = {
  lock: {
    jobId: (r) => r.jobId,
    calldata: (r) => market.encodeFunctionData("lockWithSignature", [r.jobId, r.terms, r.operator, r.validUntil, r.signature]),
  },
  fulfil: {
    jobId: (r) => r.auth.jobId,
    calldata: (r) => market.encodeFunctionData("fulfilWithSignature", [r.auth]),
    sender: (r) => namedRelayer(r.auth.relayer),
    signer: ({ market: to, auth: { signature, ...fields } }, chainId) => verifyTypedData(marketDomain(chainId, to), FULFIL_TYPES, fields, signature),
    failures: (receipt, marketAddress) => itemFailures(market, receipt, marketAddress),
    batch: {
      calldata: (rs) => market.encodeFunctionData("fulfilBatch", [rs.map((r) => r.auth)]),
      simulated: (data) => [...(market.decodeFunctionResult("fulfilBatch", data)[0] as boolean[])],
    },
  },
  // One batch proof settling several jobs: one request, its skipped jobs reported in its mined outcome.
  fulfilBatch: {
    jobId: (r) => relayedJobs(r),
    calldata: (r) => market.encodeFunctionData("fulfilBatchProof", [r.auth]),
    sender: (r) => namedRelayer(r.auth.relayer),
    failures: (receipt, marketAddress) => itemFailures(market, receipt, marketAddress),
  },
};

/** The entry of a kind; undefined for one this relayer does not know (job data is unvalidated JSON). */
export function kindOf(kind: string): KindSpec<RelayRequest> | undefined {
  // Each entry takes only its own kind's requests; callers look it up by the request's own kind.
  return (KINDS as unknown as Record<string, KindSpec<RelayRequest> | undefined>)[kind];
}

/** `FulfilmentFailed(jobId, reason)` events of `receipt`, reasons decoded as market errors. */
function itemFailures(iface: Interface, receipt: TransactionReceipt, marketAddress: string): Map<string, string> {
  const failed = new Map<string, string>();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== marketAddress.toLowerCase()) continue;
    const parsed = iface.parseLog(log);
    if (parsed?.name === "FulfilmentFailed") failed.set(String(parsed.args[0]), describeRevert({ data: parsed.args[1] as string }, iface));
  }
  return failed;
}
