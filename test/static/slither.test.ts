// Static analysis (issue 7): slither on the hand-written contracts, offline, from the build `hardhat test` has just
// made. Every High and Medium finding must be fixed or explained in contracts/slither.triage.json, and every
// triage entry must still match a finding. `make slither` prints the full report.
import { expect } from "chai";
import hre from "hardhat";
import {
  applyTriage,
  failed,
  type Finding,
  formatChecks,
  formatCounts,
  GATED,
  loadTriage,
  runSlither,
  type SlitherReport,
  type TriageEntry,
  type TriageVerdict,
} from "../../tools/slither.js";

const show = (f: Finding) => `  ${f.impact} ${f.check} ${f.location} (${f.lines})\n    ${f.description.split("\n")[0]}`;

describe("static analysis (slither)", function () {
  let report: SlitherReport;
  let triage: TriageEntry[];
  let verdict: TriageVerdict;

  before(async function () {
    // --coverage compiles instrumented sources: slither wants the plain build (a plain `hardhat test` checks it).
    if (hre.globalOptions.coverage) this.skip();
    report = await runSlither({ artifactsDir: hre.config.paths.artifacts });
    triage = await loadTriage();
    verdict = applyTriage(report.findings, triage);
    console.log(
      `      slither: ${report.files.length} files, ${report.units.length} compilation unit(s), ` +
        `${report.seconds.toFixed(1)} s; ${formatCounts(report.findings)}`,
    );
    console.log(`      by check: ${formatChecks(report.findings).join("; ")}`);
  });

  it("analyses the hand-written contracts only (not contracts/generated/, test/contracts/ or node_modules)", function () {
    expect(report.files).to.include.members([
      "contracts/InferenceMarket.sol",
      "contracts/OperatorStaking.sol",
      "contracts/ModelRegistry.sol",
      "contracts/consumers/PredictionMarket.sol",
      "contracts/verifiers/VkaVerifier.sol",
    ]);
    for (const file of report.files) expect(file).to.match(/^contracts\/(?!generated\/)/);
    for (const f of report.findings.filter((x) => GATED.includes(x.impact))) {
      expect(f.location, "a gated finding outside contracts/").to.match(/^contracts\/(?!generated\/)/);
    }
  });

  it("leaves no High or Medium finding unexplained (contracts/slither.triage.json)", function () {
    expect(verdict.unexplained.map(show), "fix these, or explain them in contracts/slither.triage.json").to.deep.equal(
      [],
    );
  });

  it("has no stale triage entry (each matches a current finding)", function () {
    const stale = verdict.stale.map((e) => `${e.check} ${e.location}`);
    expect(stale, "these findings are gone: delete their entries from contracts/slither.triage.json").to.deep.equal([]);
  });

  it("has no slither-disable comment in the contracts (the triage file is the one place for exceptions)", function () {
    expect(report.suppressions).to.deep.equal([]);
  });

  describe("the gate itself", function () {
    const finding = (check: string, impact: Finding["impact"], location: string): Finding => ({
      check,
      impact,
      location,
      confidence: "High",
      lines: location,
      description: check,
    });
    const findings = [
      finding("reentrancy-eth", "High", "contracts/A.sol:A.f()"),
      finding("unused-return", "Medium", "contracts/A.sol:A.g()"),
      finding("timestamp", "Low", "contracts/A.sol:A.h()"),
    ];
    const entry = (check: string, location: string): TriageEntry => ({ check, location, reason: "because" });

    it("fails on an unexplained High/Medium finding, not on a Low one", function () {
      const v = applyTriage(findings, [entry("unused-return", "contracts/A.sol:A.g()")]);
      expect(v.unexplained.map((f) => f.check)).to.deep.equal(["reentrancy-eth"]);
      expect(failed({ ...report, suppressions: [] }, v)).to.equal(true);
    });

    it("fails on a stale entry, and passes when every gated finding is explained", function () {
      const all = [entry("reentrancy-eth", "contracts/A.sol:A.f()"), entry("unused-return", "contracts/A.sol:A.g()")];
      const stale = applyTriage(findings, [...all, entry("unused-return", "contracts/A.sol:A.gone()")]);
      expect(stale.stale.map((e) => e.location)).to.deep.equal(["contracts/A.sol:A.gone()"]);
      expect(failed({ ...report, suppressions: [] }, stale)).to.equal(true);
      const ok = applyTriage(findings, all);
      expect(ok.unexplained).to.deep.equal([]);
      expect(ok.stale).to.deep.equal([]);
      expect(failed({ ...report, suppressions: [] }, ok)).to.equal(false);
    });
  });
});
