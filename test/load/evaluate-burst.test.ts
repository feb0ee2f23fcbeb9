// Evaluate on a burst (infra/evaluateBurst.ts): 200 jobs of one block through the real evaluate stage (the
// circuit's witness check in a warm ezkl process, onnxruntime, a real Redis and BullMQ lock queue) and a fake
// chain counting every JSON-RPC request. The chain is read for the block (one snapshot: priority fee, free stake,
// model status) and by the head poller over time, never per job. The rate is printed (a bench figure:
// bench/load.ts), not asserted.
import { expect } from "chai";
import { evaluateBurst } from "../../infra/evaluateBurst.js";
import { suiteRedis } from "../fixtures/operatorQueues.js";

describe("evaluate on a burst (fake chain, real Redis)", function () {
  this.timeout(120_000);
  const redis = suiteRedis();

  it("takes 200 jobs of one block with no JSON-RPC request per job: the block's one snapshot, whatever the count", async () => {
    const small = await evaluateBurst({ jobs: 20, redisUrl: redis().url });
    const r = await evaluateBurst({ jobs: 200, redisUrl: redis().url });
    console.log(`      ${r.jobs} jobs in ${r.seconds} s = ${r.jobs_per_s} jobs/s; chain requests ${JSON.stringify(r.rpc_by_method)}`);
    expect(r.taken, "every job is worth taking").to.equal(200);
    // eth_maxPriorityFeePerGas + freeStake + one model's layout: the snapshot of the block, once.
    expect(r.rpc_calls_besides_head).to.equal(3);
    expect(r.rpc_calls_besides_head, "no more requests for 10x the jobs").to.equal(small.rpc_calls_besides_head);
    expect(r.rpc_by_method.eth_call).to.equal(2);
    // The head poller asks by time (at most one request per 250 ms), not by job.
    expect(r.rpc_by_method.eth_getBlockByNumber ?? 0).to.be.at.most(2 + Math.ceil(r.seconds * 4));
  });
});
