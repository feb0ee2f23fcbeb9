// What an on-call person watches beyond the stage metrics: locked jobs whose deadline the remaining work no longer
// fits ("at risk": a slash is coming unless something speeds up), and this operator's own slashes, counted from
// the market's JobSlashed events that name it (scanned in bounded windows from where the last scan stopped).
import { Counter, Gauge, type Registry } from "prom-client";
import type { Queue } from "bullmq";
import { inRanges } from "../sdk/logs.js";
import type { InferenceMarket } from "../types/ethers-contracts/index.js";
import { PENDING_STATES, type JobData, type Stage } from "./pipeline.js";

/** Stages of a job this operator has locked, and whether its proof is still to be made. */
const LOCKED_STAGES: Partial<Record<Stage, { proofPending: boolean }>> = { prove: { proofPending: true }, verify: { proofPending: false }, submit: { proofPending: false } };

export interface RiskMetrics {
  lockedAtRisk: Gauge;
  lockedJobs: Gauge;
  slashes: Counter;
}

export function riskMetrics(registry: Registry): RiskMetrics {
  const r = { registers: [registry] };
  return {
    lockedAtRisk: new Gauge({ name: "verdict_operator_locked_jobs_at_risk", help: "locked jobs whose deadline is nearer than their remaining proof (measured mean) plus deadlineMarginSeconds", ...r }),
    lockedJobs: new Gauge({ name: "verdict_operator_locked_jobs", help: "locked jobs in this operator's pipeline (prove, verify, submit)", ...r }),
    slashes: new Counter({ name: "verdict_operator_slashed_total", help: "JobSlashed events naming this operator since the process started", ...r }),
  };
}

export interface LockedJob {
  stage: Stage;
  modelId: number;
  deadline: number;
}

/** How many locked jobs cannot finish in time: deadline - now < (proof still to make ? proveSeconds : 0) + marginSeconds. */
export function jobsAtRisk(jobs: readonly LockedJob[], now: number, proveSeconds: (modelId: number) => number, marginSeconds: number): number {
  return jobs.filter((j) => {
    const step = LOCKED_STAGES[j.stage];
    if (!step) return false;
    return j.deadline - now < (step.proofPending ? proveSeconds(j.modelId) : 0) + marginSeconds;
  }).length;
}

/** The locked jobs queued or running in the operator's stage queues. */
export async function lockedJobs(queues: Record<Stage, Queue<JobData>>): Promise<LockedJob[]> {
  const out: LockedJob[] = [];
  for (const stage of Object.keys(LOCKED_STAGES) as Stage[]) {
    for (const j of await queues[stage].getJobs([...PENDING_STATES])) {
      if (j?.data) out.push({ stage, modelId: j.data.modelId, deadline: j.data.deadline });
    }
  }
  return out;
}

/** Counts JobSlashed events naming `operator`, from the block after the previous scan to the head. */
export class SlashWatch {
  private next: number | undefined;

  constructor(
    private readonly market: Pick<InferenceMarket, "queryFilter" | "filters">,
    private readonly operator: string,
    private readonly counter: Counter,
    private readonly step = 2_000,
  ) {}

  /** Scans up to `head`; the first call only sets the starting point (slashes before the start are not counted). */
  async poll(head: number): Promise<number> {
    if (this.next === undefined) {
      this.next = head + 1;
      return 0;
    }
    if (head < this.next) return 0;
    const events = await inRanges(this.next, head, this.step, (a, b) => this.market.queryFilter(this.market.filters.JobSlashed(undefined, this.operator), a, b));
    this.next = head + 1;
    this.counter.inc(events.length);
    return events.length;
  }
}
