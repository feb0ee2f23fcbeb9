// Load, scaled down for CI: the `make load` scenario (infra/load.ts; 1,000 jobs in bench/load.ts) with 50 jobs
// posted in a burst against one relayer and two competing operators as real processes (which one wins each lock
// is the chain's business: on an automine chain the faster evaluator may win them all). Every job must end fulfilled, or refunded when its
// input is beyond what the model's circuit can take (operators skip it instead of locking a job they cannot prove);
// no job lost or settled twice, no honest operator slashed, no relayer nonce error, and no JSON-RPC request made
// by the evaluate stage itself (it decides on the event and the per-block snapshot, counted under its own scope).
import { expect } from "chai";
import { runLoad } from "../../infra/load.js";

describe("load (CI scale): 50 jobs in a burst, one relayer, two operators", function () {
  this.timeout(900_000);

  it("every job ends fulfilled or cleanly refunded, none lost or duplicated, zero nonce errors, no honest slash", async () => {
    const r = await runLoad({ jobs: 50, outOfRange: 2, timeoutMs: 600_000, log: (l) => console.log(`      ${l}`) });
    console.log(`      ${JSON.stringify(r)}`);
    expect(r.lost, "jobs lost").to.equal(0);
    expect(r.duplicated, "jobs locked or fulfilled twice").to.equal(0);
    expect(r.honest_slashed, "honest operators slashed").to.equal(0);
    expect(r.relayer_nonce_errors, "relayer nonce errors").to.equal(0);
    expect(r.fulfilled).to.equal(48);
    expect(r.refunded).to.equal(2);
    expect(r.operator_rpc_by_scope.evaluate ?? {}, "requests made by evaluate itself").to.deep.equal({});
    expect(Object.keys(r.operator_rpc_by_scope), "the operators' requests were attributed").to.include.members(["head", "watch"]);
  });
});
