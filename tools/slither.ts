// Static analysis of the hand-written contracts with slither (PyPI, pinned in requirements.txt), offline: slither
// never compiles here and never fetches a solc; it reads Hardhat 3's build output through a scratch project
// (tools/slitherScratch.ts). OpenZeppelin (node_modules) is analysed as a dependency: findings only in it are
// dropped (--exclude-dependencies).
//
// Triage is slither's own database, contracts/slither.db.json (the `--triage-database` format: the results that
// were triaged, matched by their `id`), with the reason for each in contracts/slither.triage.md. A High or Medium
// finding not in the database fails, and so does a database entry that matches no finding (stale: slither's ids
// include the source position of a statement, so moving one makes it a new finding to triage again). slither is
// run once, on everything, and the database applied here: the stale check needs the triaged findings too.
//
//   tsx tools/slither.ts              full report (all impacts) and the triage verdict; exit 1 if it fails
//   tsx tools/slither.ts --json       the same as JSON
//   tsx tools/slither.ts --accept ID  add the current finding ID to the database (then give its reason in the .md)
// The artifacts must be fresh: `hardhat build` first (`make slither` does).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "../shared/paths.js";
import { prepareScratch } from "./slitherScratch.js";

export const TRIAGE_DB = path.join(REPO_ROOT, "contracts", "slither.db.json");
export const TRIAGE_REASONS = path.join(REPO_ROOT, "contracts", "slither.triage.md");
export const IMPACTS = ["High", "Medium", "Low", "Informational", "Optimization"] as const;
export type Impact = (typeof IMPACTS)[number];
/** Impacts that must be fixed or triaged. */
export const GATED: readonly Impact[] = ["High", "Medium"];

/** One slither result, as slither writes it (and as its triage database stores it), less the element details. */
export interface Finding {
  id: string;
  check: string;
  impact: Impact;
  confidence: string;
  description: string;
  /** file#Lx-Ly of the first element, for humans. */
  first_markdown_element: string;
}

export interface SlitherReport {
  findings: Finding[];
  /** Build-info ids analysed (one compilation unit each; slither de-duplicates findings across them). */
  units: string[];
  /** Repository-relative .sol files analysed. */
  files: string[];
  seconds: number;
}

function slitherBin(): string {
  const bin = path.join(REPO_ROOT, ".venv", "bin", "slither");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run tools/setup.sh (it installs requirements.txt)`);
  return bin;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs slither on the current Hardhat build output (artifacts/ by default); it must be fresh. */
export async function runSlither(opts: { artifactsDir?: string } = {}): Promise<SlitherReport> {
  const started = performance.now();
  const bin = slitherBin();
  const scratch = await mkdtemp(path.join(tmpdir(), "verdict-slither-"));
  try {
    const { units, files } = await prepareScratch(opts.artifactsDir ?? path.join(REPO_ROOT, "artifacts"), scratch);
    const offline = "http://127.0.0.1:9";
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // No `hardhat` on PATH: crytic-compile asks `hardhat console` for the paths, fails at once, takes the defaults.
      PATH: [path.dirname(bin), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
      // Offline by construction: any download attempt (a solc through solc-select, ...) fails instead of fetching.
      ...{ HTTP_PROXY: offline, HTTPS_PROXY: offline, http_proxy: offline, https_proxy: offline, NO_PROXY: "", no_proxy: "" },
      PYTHONDONTWRITEBYTECODE: "1",
      // solc-select (a crytic-compile dependency, never used here) creates its .solc-select/ folder on import, under
      // $VIRTUAL_ENV if set, else $HOME: keep it in the scratch folder.
      VIRTUAL_ENV: scratch,
    };
    const args = [".", "--hardhat-ignore-compile", "--npx-disable", "--exclude-dependencies", "--disable-color", "--no-fail-pedantic", "--json", "-"];
    const { code, stdout, stderr } = await run(bin, args, { cwd: scratch, env });
    let parsed: { success: boolean; error: string | null; results?: { detectors?: Finding[] } };
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw new Error(`slither exited ${code} without JSON output:\n${stderr.slice(-4000)}`);
    }
    if (!parsed.success) throw new Error(`slither failed: ${parsed.error}\n${stderr.slice(-4000)}`);
    // slither de-duplicates identical results across compilation units; `pragma` (one project-wide result listing
    // every pragma) differs per unit, so it is kept once, the one that lists the most.
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const r of (parsed.results?.detectors ?? []).sort((a, b) => b.description.length - a.description.length)) {
      const key = r.check === "pragma" ? r.check : r.id;
      if (!seen.has(key)) findings.push({ id: r.id, check: r.check, impact: r.impact, confidence: r.confidence, description: r.description.trim(), first_markdown_element: r.first_markdown_element });
      seen.add(key);
    }
    findings.sort((a, b) => IMPACTS.indexOf(a.impact) - IMPACTS.indexOf(b.impact) || a.check.localeCompare(b.check) || a.description.localeCompare(b.description));
    return { findings, units, files, seconds: (performance.now() - started) / 1000 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function loadTriageDb(file = TRIAGE_DB): Promise<Finding[]> {
  return JSON.parse(await readFile(file, "utf8")) as Finding[];
}

export interface TriageVerdict {
  /** High/Medium findings not in the triage database. */
  untriaged: Finding[];
  /** Database entries that match no finding (fixed or moved: delete them, or accept the moved finding). */
  stale: Finding[];
}

export function applyTriage(findings: Finding[], db: Finding[]): TriageVerdict {
  const triaged = new Set(db.map((e) => e.id));
  const found = new Set(findings.map((f) => f.id));
  return { untriaged: findings.filter((f) => GATED.includes(f.impact) && !triaged.has(f.id)), stale: db.filter((e) => !found.has(e.id)) };
}

export const failed = (verdict: TriageVerdict) => verdict.untriaged.length > 0 || verdict.stale.length > 0;

/** Count per check, highest impact first: `check (Impact): n`. */
export function formatChecks(findings: Finding[]): string {
  const byCheck = new Map<string, { impact: Impact; n: number }>();
  for (const f of findings) byCheck.set(f.check, { impact: f.impact, n: (byCheck.get(f.check)?.n ?? 0) + 1 });
  return [...byCheck].map(([check, { impact, n }]) => `${check} (${impact}): ${n}`).join("; ");
}

export const formatCounts = (findings: Finding[]) => IMPACTS.map((i) => `${i} ${findings.filter((f) => f.impact === i).length}`).join(", ");

async function main() {
  const args = process.argv.slice(2);
  const report = await runSlither();
  const db = await loadTriageDb();
  const accept = args.indexOf("--accept");
  if (accept >= 0) {
    const finding = report.findings.find((f) => f.id === args[accept + 1]);
    if (!finding) throw new Error(`no current finding has id ${args[accept + 1]}`);
    await writeFile(TRIAGE_DB, `${JSON.stringify([...db.filter((e) => e.id !== finding.id), finding], null, 2)}\n`);
    console.log(`added ${finding.check} ${finding.id} to ${path.relative(REPO_ROOT, TRIAGE_DB)}: give its reason in ${path.relative(REPO_ROOT, TRIAGE_REASONS)}`);
    return;
  }
  const verdict = applyTriage(report.findings, db);
  if (args.includes("--json")) console.log(JSON.stringify({ ...report, triage: verdict }, null, 2));
  else {
    console.log(`slither on ${report.files.length} files (${report.units.length} compilation unit(s)), ${report.seconds.toFixed(1)} s`);
    console.log("not analysed: contracts/generated/ (ezkl-generated verifiers), test/contracts/; node_modules is a dependency");
    const triaged = new Set(db.map((e) => e.id));
    for (const f of report.findings) {
      const tag = GATED.includes(f.impact) ? (triaged.has(f.id) ? " TRIAGED" : " UNTRIAGED") : "";
      console.log(`\n[${f.impact} ${f.check}]${tag} ${f.id} (${f.first_markdown_element}, confidence ${f.confidence})\n  ${f.description.replace(/\n/g, "\n  ")}`);
    }
    console.log(`\nby check: ${formatChecks(report.findings)}\nby impact: ${formatCounts(report.findings)}`);
    for (const e of verdict.stale) console.log(`STALE triage entry (matches no finding): ${e.check} ${e.id}`);
    console.log(
      failed(verdict)
        ? `FAIL: ${verdict.untriaged.length} untriaged High/Medium finding(s), ${verdict.stale.length} stale entr(ies); fix, or \`tsx tools/slither.ts --accept <id>\` and explain`
        : `OK: every High/Medium finding triaged in ${path.relative(REPO_ROOT, TRIAGE_DB)} (reasons: ${path.relative(REPO_ROOT, TRIAGE_REASONS)})`,
    );
  }
  process.exitCode = failed(verdict) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}
