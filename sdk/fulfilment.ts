// The one decoder of fulfilment calldata: which proof and instances a transaction delivered for a job, whether
// it called fulfil, fulfilWithSignature or fulfilBatch (a batch delivers several jobs).
import { InferenceMarket__factory } from "../types/ethers-contracts/index.js";

const market = InferenceMarket__factory.createInterface();

export interface DeliveredProof {
  proof: string;
  instances: bigint[];
  /** Jobs the transaction delivered (1 unless fulfilBatch). */
  batchSize: number;
}

/** The proof `data` delivered for `jobId`; undefined when it is no market fulfilment call (e.g. sent through another contract). */
export function decodeFulfilment(data: string, jobId: bigint): DeliveredProof | undefined {
  const call = market.parseTransaction({ data });
  const auths: { jobId: bigint; proof: string; instances: readonly bigint[] }[] =
    call?.name === "fulfil"
      ? [{ jobId: call.args[0] as bigint, proof: call.args[1] as string, instances: call.args[2] as bigint[] }]
      : call?.name === "fulfilWithSignature"
        ? [call.args[0]]
        : call?.name === "fulfilBatch"
          ? [...call.args[0]]
          : [];
  const auth = auths.find((a) => a.jobId === jobId);
  return auth && { proof: auth.proof, instances: [...auth.instances], batchSize: auths.length };
}
