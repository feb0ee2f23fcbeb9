// verify — consumes: `verify` jobs with a proof. Produces: `submit` jobs.
// Checks the proof against the model's registered on-chain verifier with eth_call before any gas is spent
// (ezkl already verified it natively while proving).
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import { isRevert } from "../../shared/rpcErrors.js";
import { IHalo2Verifier__factory } from "../../types/ethers-contracts/index.js";
import { advance, type JobData, type OperatorContext } from "../pipeline.js";
import type { Outcome } from "../stage.js";

export async function verify(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  // A batch proof is checked by the batch verifier registered for the model (ModelRegistry.batchLayout).
  const verifierAddress = data.batch ? (await ctx.registry.batchLayout(data.batch.batchId))[2] : (await ctx.registry.layout(data.modelId))[0];
  const verifier = IHalo2Verifier__factory.connect(verifierAddress, ctx.chain.provider);
  // Only a revert is a rejection: an RPC failure (node unreachable, rate limit, timeout) is retried like any
  // other, where it used to count as a rejection and fail the locked job for good (review S1-1).
  const ok = await verifier.verifyProof.staticCall(data.proof!, data.instances!).catch((e: unknown) => {
    if (isRevert(e)) return false;
    throw e;
  });
  if (!ok) throw new VerdictError("PROOF_REJECTED_ONCHAIN", `the registered verifier ${verifierAddress} rejects the proof`);
  log.info({ verifier: verifierAddress }, "proof accepted by the on-chain verifier (eth_call)");
  await advance(ctx, "submit", data);
  return { outcome: "advanced" };
}
