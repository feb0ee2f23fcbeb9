// Static analysis (issue 7): slither on the hand-written contracts, offline, from the build `hardhat test` has just
// made. Every High and Medium finding must be fixed or in slither's triage database (contracts/slither.db.json)
// with its reason in contracts/slither.triage.md, and every database entry must still match a finding.
// `make slither` prints the full report.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import hre from "hardhat";
import { applyTriage, failed, type Finding, formatChecks, formatCounts, loadTriageDb, runSlither, type SlitherReport, TRIAGE_REASONS, type TriageVerdict } from "../../tools/slither.js";

const show = (f: Finding) => `  ${f.impact} ${f.check} ${f.id} (${f.first_markdown_element})\n    ${f.description.split("\n")[0]}`;

describe("static analysis (slither)", function () {
  let report: SlitherReport;
  let db: Finding[];
  let verdict: TriageVerdict;

  before(async function () {
    // --coverage compiles instrumented sources: slither wants the plain build (a plain `hardhat test` checks it).
    if (hre.globalOptions.coverage) this.skip();
    report = await runSlither({ artifactsDir: hre.config.paths.artifacts });
    db = await loadTriageDb();
    verdict = applyTriage(report.findings, db);
    console.log(`      slither: ${report.files.length} files, ${report.units.length} compilation unit(s), ${report.seconds.toFixed(1)} s; ${formatCounts(report.findings)}`);
    console.log(`      by check: ${formatChecks(report.findings)}`);
  });

  it("analyses the hand-written contracts only (not contracts/generated/, test/contracts/ or node_modules)", function () {
    expect(report.files).to.include.members(["contracts/InferenceMarket.sol", "contracts/OperatorStaking.sol", "contracts/ModelRegistry.sol", "contracts/consumers/PredictionMarket.sol", "contracts/verifiers/VkaVerifier.sol"]);
    for (const file of report.files) expect(file).to.match(/^contracts\/(?!generated\/)/);
    for (const f of report.findings.filter((x) => x.impact === "High" || x.impact === "Medium")) {
      expect(f.first_markdown_element, "a gated finding outside contracts/").to.match(/^contracts\/(?!generated\/)/);
    }
  });

  it("leaves no High or Medium finding untriaged (contracts/slither.db.json)", function () {
    expect(verdict.untriaged.map(show), "fix these, or `tsx tools/slither.ts --accept <id>` and give the reason in contracts/slither.triage.md").to.deep.equal([]);
  });

  it("has no stale triage entry (each matches a current finding)", function () {
    expect(verdict.stale.map((e) => `${e.check} ${e.id}`), "these findings are gone or moved: delete their entries (and accept the moved ones)").to.deep.equal([]);
  });

  it("gives the reason for every triaged finding in contracts/slither.triage.md, and for nothing else", async function () {
    const reasons = [...(await readFile(TRIAGE_REASONS, "utf8")).matchAll(/^\| `([0-9a-f]{12})` \|.*\| *[^|\s][^|]* \|$/gm)].map((m) => m[1]);
    expect(reasons.sort()).to.deep.equal(db.map((e) => e.id.slice(0, 12)).sort());
  });

  describe("the gate itself", function () {
    const finding = (id: string, check: string, impact: Finding["impact"]): Finding => ({ id, check, impact, confidence: "High", description: check, first_markdown_element: "contracts/A.sol#L1" });
    const findings = [finding("a1", "reentrancy-eth", "High"), finding("b2", "unused-return", "Medium"), finding("c3", "timestamp", "Low")];

    it("fails on an untriaged High/Medium finding, not on a Low one", function () {
      const v = applyTriage(findings, [findings[1]!]);
      expect(v.untriaged.map((f) => f.check)).to.deep.equal(["reentrancy-eth"]);
      expect(failed(v)).to.equal(true);
    });

    it("fails on a stale entry (a triaged id no finding has), and passes when every gated finding is triaged", function () {
      const stale = applyTriage(findings, [findings[0]!, findings[1]!, finding("d4", "unused-return", "Medium")]);
      expect(stale.stale.map((e) => e.id)).to.deep.equal(["d4"]);
      expect(failed(stale)).to.equal(true);
      const ok = applyTriage(findings, [findings[0]!, findings[1]!]);
      expect(ok).to.deep.equal({ untriaged: [], stale: [] });
      expect(failed(ok)).to.equal(false);
    });
  });
});
