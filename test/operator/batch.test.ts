// The operator's batch grouping decision (operator/stages/batch.ts planBatch) on a fake clock: when a locked job
// waits for others of its model, when its group is proven (full, window over, no time left) and when it is proven
// alone (batching off, a lone job, a batch that would miss a deadline).
import { expect } from "chai";
import { planBatch, type BatchPlanInput, type Waiting } from "../../operator/stages/batch.js";

const NOW_MS = 1_800_000_000_000;
const CHAIN_NOW = 1_800_000_000;
/** Single proof 2 s, batch of 4 5 s, batch of 8 9 s. */
const PROVE: Record<number, number> = { 1: 2, 4: 5, 8: 9 };

const job = (jobId: string, deadlineIn: number, waitedMs = 0): Waiting => ({ jobId, deadline: CHAIN_NOW + deadlineIn, joinedAt: NOW_MS - waitedMs });

function plan(waiting: Waiting[], over: Partial<BatchPlanInput> = {}) {
  return planBatch({
    me: waiting[0]!.jobId,
    waiting,
    sizes: [4, 8],
    windowMs: 3000,
    nowMs: NOW_MS,
    chainNow: CHAIN_NOW,
    proveSeconds: (s) => PROVE[s]!,
    submitSeconds: 2,
    marginSeconds: 30,
    ...over,
  });
}

describe("operator batch grouping (fake clock)", () => {
  it("a lone job waits for others of its model until the window ends, then is proven alone with the single circuit", () => {
    expect(plan([job("1", 1800)])).to.deep.include({ action: "wait", untilMs: NOW_MS + 3000 });
    expect(plan([job("1", 1800, 3000)])).to.deep.include({ action: "prove", jobIds: ["1"], slots: 1 });
  });

  it("proves the group with the smallest batch circuit that holds it once the first job has waited the window", () => {
    const p = plan([job("1", 1800, 1000), job("2", 1700, 3000), job("3", 1900, 10)]);
    expect(p).to.deep.include({ action: "prove", slots: 4 });
    expect(p.action === "prove" && p.jobIds).to.deep.equal(["2", "1", "3"]); // earliest deadline first
  });

  it("keeps waiting, until the window of its first job ends, while the group is not full", () => {
    expect(plan([job("1", 1800, 1000), job("2", 1800, 500)])).to.deep.include({ action: "wait", untilMs: NOW_MS + 2000 });
  });

  it("proves a full group at once, and a job past the largest circuit starts the next group", () => {
    const waiting = Array.from({ length: 9 }, (_, i) => job(String(i + 1), 1000 + i));
    const full = plan(waiting, { me: "8" });
    expect(full).to.deep.include({ action: "prove", slots: 8 });
    expect(full.action === "prove" && full.jobIds).to.have.length(8);
    expect(plan(waiting, { me: "9" })).to.deep.include({ action: "wait" });
  });

  it("stops waiting when one more job would leave the first deadline unmet, and waits only as long as it may", () => {
    const four = (deadlineIn: number) => ["1", "2", "3", "4"].map((id) => job(id, deadlineIn));
    // Four jobs, deadline in 48 s: a fifth needs the batch of 8 (9 + 2 + 30 = 41 s): 7 s to spare, the window ends first.
    expect(plan(four(48))).to.deep.include({ action: "wait", untilMs: NOW_MS + 3000 });
    // Deadline in 45 s and a 60 s window: it waits only the 4 s to spare.
    expect(plan(four(45), { windowMs: 60_000 })).to.deep.include({ action: "wait", untilMs: NOW_MS + 4000 });
    // Deadline in 40 s: the batch of 4 still fits (37 s), waiting for a fifth would not.
    expect(plan(four(40))).to.deep.include({ action: "prove", jobIds: ["1", "2", "3", "4"], slots: 4 });
    // A lone job, deadline in 36 s: alone it fits (34 s), a second job would need the batch of 4 (37 s).
    expect(plan([job("1", 36)])).to.deep.include({ action: "prove", jobIds: ["1"], slots: 1 });
  });

  it("proves a job alone when a batch proof of its group would miss a deadline the single proof still meets", () => {
    // deadline in 35 s: single 2 + 2 + 30 = 34 fits, a batch of 4 (37 s) does not
    const p = plan([job("1", 35), job("2", 35)]);
    expect(p).to.deep.include({ action: "prove", jobIds: ["1"], slots: 1 });
    expect(p.action === "prove" && p.reason).to.match(/batch of 2 needs ~5 s .* deadline in 35 s would be missed/);
  });

  it("never batches with a window of 0 or a model without batch circuits", () => {
    const two = [job("1", 1800), job("2", 1800)];
    expect(plan(two, { windowMs: 0 })).to.deep.include({ action: "prove", jobIds: ["1"], slots: 1 });
    expect(plan(two, { sizes: [] })).to.deep.include({ action: "prove", jobIds: ["1"], slots: 1 });
  });
});
