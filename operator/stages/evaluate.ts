// evaluate — consumes: `evaluate` jobs (a job seen on-chain). Produces: `lock` jobs for the ones worth taking.
// Skips, saying why with numbers: models this operator cannot prove or that are not active, inputs outside the
// circuit's calibrated range (locking one would end in a failed proof and a slash), jobs whose proof cannot
// finish before the deadline (measured proving time + margin), prices below gas cost + minimum profit, and
// collateral above the free stake.
import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import { checkCircuitInput } from "../../zk/artifacts.js";
import { advance, jobInput, type JobData, type OperatorContext } from "../pipeline.js";
import { chainTime, stillOpen } from "../reconcile.js";
import type { Outcome } from "../stage.js";
import { ModelStatus } from "../status.js";

export class JobEvaluator {
  constructor(private readonly ctx: OperatorContext) {}

  process = async (data: JobData, log: Logger): Promise<Outcome> => {
    const { ctx } = this;
    const cfg = ctx.config.operator;
    if (!ctx.catalog.get(data.modelId)) return { outcome: "skipped", reason: `model ${data.modelId} is not one this operator proves` };
    const { circuit, input } = jobInput(ctx, data);
    try {
      checkCircuitInput(circuit, input, `job ${data.jobId} input`);
    } catch (e) {
      return { outcome: "skipped", reason: (e as Error).message };
    }
    const [, , , , status] = await ctx.registry.layout(data.modelId);
    if (Number(status) !== ModelStatus.Active) return { outcome: "skipped", reason: `model ${data.modelId} is deprecated` };
    const open = await stillOpen(ctx, data);
    if (!open.ok) return { outcome: "skipped", reason: open.reason };

    const now = await chainTime(ctx);
    const needs = (await ctx.catalog.proveSeconds(data.modelId)) + cfg.deadlineMarginSeconds;
    if (now + needs > data.deadline) {
      return { outcome: "skipped", reason: `needs ~${needs.toFixed(0)} s to prove with margin, deadline in ${data.deadline - now} s` };
    }
    if (data.token === ZeroAddress) {
      const fees = await ctx.chain.provider.getFeeData();
      const gasCost = BigInt(cfg.estimatedGas) * (fees.maxFeePerGas ?? fees.gasPrice ?? 0n);
      if (BigInt(data.price) - gasCost < cfg.minProfitWei) {
        return { outcome: "skipped", reason: `price ${data.price} wei minus gas ~${gasCost} wei is below the minimum profit ${cfg.minProfitWei}` };
      }
    }
    const free = await ctx.staking.freeStake(ctx.address);
    if (free < BigInt(data.collateral)) return { outcome: "skipped", reason: `collateral ${data.collateral} exceeds free stake ${free}` };
    log.info({ modelId: data.modelId, price: data.price, deadlineIn: data.deadline - now }, "taking job");
    await advance(ctx, "lock", data);
    return { outcome: "advanced" };
  };
}
