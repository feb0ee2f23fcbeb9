import { expect } from "chai";
import { loadModelSpec } from "../../zk/build/circuit.js";
import { byCost, candidates, tune, type TuneResult } from "../../zk/build/tune.js";

describe("settings tuned for cost (zk/build/tune.ts)", function () {
  it("tune reports every candidate it tried and picks the smallest proof within the tolerance; a candidate beyond it is rejected with its error", async () => {
    const spec = await loadModelSpec("spike");
    const tries = [
      { ...spec.runArgs, num_inner_cols: 2 },
      { ...spec.runArgs, num_inner_cols: 1 },
      // scale 2: outputs quantised to 1/4, far beyond a 0.05 tolerance
      { ...spec.runArgs, input_scale: 2, param_scale: 2, num_inner_cols: 1 },
    ].map((r) => ({ ...r, logrows: undefined }));
    const { current, tried, best } = await tune(spec, { tolerance: 0.05, tries, maxLogrows: 13 });
    expect(current.runArgs).to.deep.equal(spec.runArgs);
    expect(current.instances).to.equal(5); // 3 inputs + 2 outputs
    expect(tried).to.have.length(3);
    expect(tried[2]!.rejected).to.match(/^max error .* > tolerance 0.05$/);
    for (const r of tried.slice(0, 2)) {
      expect(r.rejected).to.equal(undefined);
      expect(r.maxAbsError).to.be.lessThanOrEqual(0.05);
    }
    expect(best?.runArgs.num_inner_cols).to.equal(1);
    expect(best!.proofBytes).to.be.lessThan(tried[0]!.proofBytes!);
  });

  it("candidates cover scales (the model's own first), decomposition base and legs and one or two inner columns, logrows left to the search", () => {
    const c = candidates({ input_scale: 9, param_scale: 9 });
    expect(new Set(c.map((r) => r.num_inner_cols))).to.deep.equal(new Set([1, 2]));
    expect(c.every((r) => r.logrows === undefined && (r.decomp_base ?? 0) ** (r.decomp_legs ?? 0) >= 2 ** 16)).to.equal(true);
    expect([c[0]!.input_scale, c[0]!.param_scale]).to.deep.equal([9, 9]);
    expect(new Set(c.map((r) => `${r.input_scale}/${r.param_scale}`))).to.deep.equal(new Set(["9/9", "10/10", "8/8", "7/7"]));
  });

  it("byCost ranks by proof size, then public instances (verifier gas), then logrows and rows, then error, then measured proving time", () => {
    const r = (proofBytes: number, instances: number, logrows: number, numRows: number, maxAbsError: number, proveSeconds: number): TuneResult => ({ runArgs: {}, proofBytes, instances, logrows, numRows, maxAbsError, proveSeconds });
    const ranked = [r(3072, 5, 9, 400, 0, 0.1), r(1952, 9, 9, 400, 0, 0.1), r(1952, 5, 11, 400, 0, 0.1), r(1952, 5, 10, 900, 0, 0.1), r(1952, 5, 10, 760, 0.01, 0.1), r(1952, 5, 10, 760, 0.002, 0.9), r(1952, 5, 10, 760, 0.002, 0.3)].sort(byCost);
    expect(ranked.map((x) => [x.proofBytes, x.instances, x.logrows, x.numRows, x.maxAbsError, x.proveSeconds])).to.deep.equal([
      [1952, 5, 10, 760, 0.002, 0.3],
      [1952, 5, 10, 760, 0.002, 0.9],
      [1952, 5, 10, 760, 0.01, 0.1],
      [1952, 5, 10, 900, 0, 0.1],
      [1952, 5, 11, 400, 0, 0.1],
      [1952, 9, 9, 400, 0, 0.1],
      [3072, 5, 9, 400, 0, 0.1],
    ]);
  });
});
