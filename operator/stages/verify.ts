// verify — consumes: `verify` jobs with a proof (ezkl verified it natively while proving). Produces: `submit` jobs.
// The first proof of each circuit (a model, or one of its batch verifiers) this process makes is also checked by
// the circuit's registered on-chain verifier with eth_call before any gas is spent: it shows that verifier accepts
// proofs made with this bundle's keys. Later proofs of that circuit skip the two requests (its layout and the
// call): a registered version and its verifier never change, the market re-checks the verifier's code hash, and
// the relayer simulates every fulfilment before sending it.
import type { Logger } from "pino";
import { VerdictError } from "../../shared/errors.js";
import { isRevert } from "../../shared/rpcErrors.js";
import { IHalo2Verifier__factory } from "../../types/ethers-contracts/index.js";
import { advance, type JobData, type OperatorContext } from "../pipeline.js";
import type { Outcome } from "../stage.js";

/** Circuits whose registered verifier accepted one of this process's proofs, per operator context. */
const accepted = new WeakMap<OperatorContext, Set<string>>();

export async function verify(ctx: OperatorContext, data: JobData, log: Logger): Promise<Outcome> {
  const circuit = data.batch ? `batch ${data.batch.batchId}` : `model ${data.modelId}`;
  let seen = accepted.get(ctx);
  if (!seen) accepted.set(ctx, (seen = new Set()));
  if (!seen.has(circuit)) {
    await checkOnChain(ctx, data, log);
    seen.add(circuit);
  }
  await advance(ctx, "submit", data);
  return { outcome: "advanced" };
}

async function checkOnChain(ctx: OperatorContext, data: JobData, log: Logger): Promise<void> {
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
  log.info({ verifier: verifierAddress }, "proof accepted by the on-chain verifier (eth_call): later proofs of this circuit skip the call");
}
