// Reconciliation on a fake chain: after a reorg deeper than the confirmation depth, job ids are reused (they are
// sequential), so the queued data under an id can describe another job. Only status, lock holder and deadline
// were compared: the operator locked the new job and proved the old input, and the fulfilment reverted
// InputMismatch until the deadline slashed it (review S1-6).
import { expect } from "chai";
import { solidityPackedKeccak256, Wallet } from "ethers";
import type { JobData, OperatorContext } from "../../operator/pipeline.js";
import { stillMine, stillOpen } from "../../operator/reconcile.js";
import { JobStatus } from "../../shared/enums.js";

const NOW = 1_800_000_000;
const address = Wallet.createRandom().address;
const queued: JobData = {
  chainId: "31337",
  jobId: "7",
  modelId: 1,
  input: ["11", "22"],
  token: "0x0000000000000000000000000000000000000000",
  price: "1",
  collateral: "5",
  lockDeadline: NOW + 100,
  deadline: NOW + 1000,
};

/** A context whose chain holds `job` under every id. */
function chainWith(job: Partial<{ status: number; operator: string; modelId: number; input: readonly string[]; collateral: bigint; deadline: number; lockDeadline: number }>): OperatorContext {
  const j = { status: JobStatus.Open, operator: address, modelId: 1, input: queued.input, collateral: 5n, deadline: queued.deadline, lockDeadline: queued.lockDeadline, ...job };
  return {
    address,
    chain: { provider: { getBlock: async () => ({ timestamp: NOW }) } },
    // No head poller running (as in a prove worker): every read goes to the chain.
    snapshot: { head: { fresh: () => undefined } },
    market: {
      jobOf: async () => ({
        status: BigInt(j.status),
        operator: j.operator,
        modelId: BigInt(j.modelId),
        inputHash: solidityPackedKeccak256(["uint256[]"], [j.input]),
        collateral: j.collateral,
        deadline: BigInt(j.deadline),
        lockDeadline: BigInt(j.lockDeadline),
      }),
    },
  } as unknown as OperatorContext;
}

describe("reconcile (fake chain)", () => {
  it("stillOpen and stillMine accept the job the queue describes", async () => {
    expect(await stillOpen(chainWith({}), queued)).to.deep.equal({ ok: true });
    expect(await stillMine(chainWith({ status: JobStatus.Locked }), queued)).to.deep.equal({ ok: true });
  });

  for (const [what, differs] of [
    ["another input", { input: ["11", "23"] }],
    ["another model", { modelId: 2 }],
    ["another collateral", { collateral: 6n }],
    ["another deadline", { deadline: NOW + 999 }],
  ] as const) {
    it(`refuses a job reposted under the same id with ${what} after a deep reorg`, async () => {
      const open = await stillOpen(chainWith(differs), queued);
      expect(open.ok).to.equal(false);
      expect((open as { reason: string }).reason).to.match(/not the queued one .* reorged and replaced/);
      expect((await stillMine(chainWith({ ...differs, status: JobStatus.Locked }), queued)).ok).to.equal(false);
    });
  }
});
