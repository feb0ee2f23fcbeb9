// Stage decisions on a fake clock: admission against committed capacity and chain latency, what is deferred
// rather than dropped, and earliest-deadline-first order whenever jobs were queued (review S1-5, S2-5).
import { expect } from "chai";
import { admit, type AdmissionInput } from "../../operator/admission.js";
import { edfPriority, stageBackoff, STAGE_BACKOFF_CAP_MS } from "../../operator/pipeline.js";

const NOW = 1_800_000_000;
const base: AdmissionInput = {
  now: NOW,
  lockDeadline: NOW + 600,
  deadline: NOW + 1800,
  txSeconds: 36, // 12 s blocks, 1 confirmation
  backlogSeconds: 0,
  proveSeconds: 10,
  marginSeconds: 30,
  price: 10n ** 15n,
  gasCostWei: 8n * 10n ** 14n,
  minProfitWei: 0n,
  collateral: 10n ** 18n,
  freeStake: 100n * 10n ** 18n,
  reevaluateSeconds: 5,
};

describe("operator admission (fake clock)", () => {
  it("takes a job whose lock, proof, fulfilment and margin fit before the deadline", () => {
    expect(admit(base)).to.deep.equal({ take: true });
  });

  it("skips for good a job whose own lock, proof and fulfilment cannot fit, whatever the backlog", () => {
    const d = admit({ ...base, deadline: NOW + 100 });
    expect(d).to.deep.include({ take: false, retry: false });
    expect((d as { reason: string }).reason).to.match(/needs ~112 s .* deadline in 100 s/);
  });

  it("skips a job whose lock could not land before the lock deadline (two 12 s blocks and a confirmation)", () => {
    expect(admit({ ...base, lockDeadline: NOW + 30 })).to.deep.include({ take: false, retry: false });
  });

  it("defers a job that fits alone but not behind the proofs already committed: a burst is not admitted in full", () => {
    // 1800 s to the deadline; 112 s of its own; 1700 s of queued proofs ahead of it do not fit.
    const d = admit({ ...base, backlogSeconds: 1700 });
    expect(d).to.deep.include({ take: false, retry: true });
    expect((d as { reason: string }).reason).to.match(/1700 s of proving already committed/);
    expect(admit({ ...base, backlogSeconds: 1600 })).to.deep.equal({ take: true });
  });

  it("defers, not drops, a job priced below the expected gas cost, and takes it once fees fall", () => {
    const spike = admit({ ...base, gasCostWei: 2n * 10n ** 15n });
    expect(spike).to.deep.include({ take: false, retry: true });
    expect((spike as { reason: string }).reason).to.match(/below the minimum profit/);
    expect(admit({ ...base, gasCostWei: 9n * 10n ** 14n })).to.deep.equal({ take: true });
  });

  it("defers a job whose collateral exceeds the free stake (tied up in other locks for now)", () => {
    expect(admit({ ...base, freeStake: 10n ** 17n })).to.deep.include({ take: false, retry: true });
  });

  it("stops deferring once another look could no longer lock the job", () => {
    // The lock deadline is 40 s away: a look in 5 s plus 36 s of inclusion misses it.
    expect(admit({ ...base, lockDeadline: NOW + 40, gasCostWei: 2n * 10n ** 15n })).to.deep.include({ take: false, retry: false });
  });

  it("leaves ERC20 jobs unpriced (no ETH gas comparison)", () => {
    expect(admit({ ...base, price: undefined, gasCostWei: undefined })).to.deep.equal({ take: true });
  });
});

describe("earliest-deadline-first priority", () => {
  it("ranks by the deadline itself: a job queued later with a later deadline never overtakes an earlier deadline", () => {
    const a = edfPriority(NOW + 1000, NOW); // queued at NOW
    const b = edfPriority(NOW + 1100, NOW + 900); // queued 900 s later, 200 s left
    expect(a).to.be.lessThan(b);
  });

  it("stays within BullMQ's priority range for deadlines days ahead", () => {
    for (const ahead of [0, 60, 86_400, 7 * 86_400, 11 * 86_400]) {
      const p = edfPriority(NOW + ahead, NOW);
      expect(p).to.be.within(1, 2 ** 21 - 1);
    }
    expect(edfPriority(NOW + 7 * 86_400, NOW)).to.be.greaterThan(edfPriority(NOW + 86_400, NOW));
  });
});

describe("stage retries", () => {
  it("back off exponentially from 1 s and never wait more than the cap, so a job near its deadline is retried in time", () => {
    expect([1, 2, 3, 4].map(stageBackoff)).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(stageBackoff(10)).to.equal(STAGE_BACKOFF_CAP_MS);
    expect(stageBackoff(200)).to.equal(STAGE_BACKOFF_CAP_MS);
  });
});
