// Static analysis of the hand-written contracts with slither (PyPI, pinned in requirements.txt), offline.
//
// slither never compiles here and never fetches a solc: it reads Hardhat 3's build output. The Hardhat build-infos
// that the current artifacts point at (artifacts/build-info/<id>.json + <id>.output.json) are pruned to contracts/
// (minus contracts/generated/, the ezkl verifiers, and test/contracts/, the test-only contracts) and what they
// import, and written with the sources they were compiled from into a scratch Hardhat-like project, which
// crytic-compile's hardhat platform reads with --hardhat-ignore-compile. OpenZeppelin (node_modules) is analysed
// as a dependency: findings only in it are dropped (--exclude-dependencies).
//
// Every High and Medium finding must be fixed or explained in contracts/slither.triage.json (keyed by check and
// location); a triage entry that matches nothing is stale. test/static/slither.test.ts enforces both.
//
//   tsx tools/slither.ts            full report (all impacts) and the triage verdict; exit 1 if it fails
//   tsx tools/slither.ts --json     the same as JSON
//   --artifacts DIR                 another Hardhat artifacts folder (default artifacts/)
// The artifacts must be fresh: `hardhat build` first (`make slither` does).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const TRIAGE_FILE = path.join(ROOT, "contracts", "slither.triage.json");
export const IMPACTS = ["High", "Medium", "Low", "Informational", "Optimization"] as const;
export type Impact = (typeof IMPACTS)[number];
/** Impacts that must be fixed or explained. */
export const GATED: readonly Impact[] = ["High", "Medium"];

/** Hardhat 3 source names of the analysed files: the hand-written contracts. */
const isAnalysed = (sourceName: string) =>
  sourceName.startsWith("project/contracts/") && !sourceName.startsWith("project/contracts/generated/");

export interface Finding {
  check: string;
  impact: Impact;
  confidence: string;
  /** Stable key part: file, contract and function/variable (no line numbers, so edits elsewhere keep it). */
  location: string;
  /** file#Lx-Ly of the first element, for humans. */
  lines: string;
  description: string;
}

export interface SlitherReport {
  findings: Finding[];
  /** Build-info ids analysed (one compilation unit each; slither de-duplicates findings across them). */
  units: string[];
  /** Repository-relative .sol files analysed. */
  files: string[];
  /** `file:line` of slither-disable comments in the analysed files: not allowed, the triage file is the one place. */
  suppressions: string[];
  seconds: number;
}

export interface TriageEntry {
  check: string;
  location: string;
  impact?: string;
  reason: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Build output -> scratch project

interface BuildInfoInput {
  _format: string;
  id: string;
  solcVersion: string;
  solcLongVersion: string;
  userSourceNameMap: Record<string, string>;
  input: { language: string; sources: Record<string, { content: string }>; settings: unknown };
}
interface AstNode {
  nodeType: string;
  absolutePath?: string;
}
interface BuildInfoOutput {
  output: {
    sources: Record<string, { id: number; ast: { nodes: AstNode[] } }>;
    contracts?: Record<string, unknown>;
    errors?: unknown[];
  };
}

async function listFiles(dir: string, suffix: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** Where a Hardhat 3 source name lives in the scratch project (the layout crytic-compile resolves). */
function scratchPath(sourceName: string): string {
  if (sourceName.startsWith("project/")) return sourceName.slice("project/".length);
  const npm = /^npm\/((?:@[^/]+\/)?[^@/]+)@[^/]+\/(.+)$/.exec(sourceName);
  if (npm) return path.join("node_modules", npm[1]!, npm[2]!);
  throw new Error(`unexpected source name in the build output: ${sourceName}`);
}

/**
 * Writes the pruned build-infos and their sources into `scratch`. Fails when the build output does not match the
 * contracts on disk (run `hardhat build`).
 */
async function prepareScratch(
  artifactsDir: string,
  scratch: string,
): Promise<{ units: string[]; files: string[]; suppressions: string[] }> {
  // Roots per build-info: the analysed sources whose artifacts point at it.
  const roots = new Map<string, Set<string>>();
  for (const file of await listFiles(path.join(artifactsDir, "contracts"), ".json")) {
    const artifact = JSON.parse(await readFile(file, "utf8")) as { inputSourceName?: string; buildInfoId?: string };
    if (!artifact.inputSourceName || !artifact.buildInfoId || !isAnalysed(artifact.inputSourceName)) continue;
    if (!roots.has(artifact.buildInfoId)) roots.set(artifact.buildInfoId, new Set());
    roots.get(artifact.buildInfoId)!.add(artifact.inputSourceName);
  }
  if (roots.size === 0) throw new Error(`no contract artifacts under ${artifactsDir}: run \`hardhat build\` first`);

  const onDisk = (await listFiles(path.join(ROOT, "contracts"), ".sol"))
    .map((f) => "project/" + path.relative(ROOT, f).split(path.sep).join("/"))
    .filter(isAnalysed);
  const covered = new Set<string>();
  const units: string[] = [];
  const written = new Set<string>();
  const suppressions = new Set<string>();

  for (const [id, rootSet] of [...roots].sort(([a], [b]) => a.localeCompare(b))) {
    const base = path.join(artifactsDir, "build-info", id);
    const input = JSON.parse(await readFile(base + ".json", "utf8")) as BuildInfoInput;
    const { output } = JSON.parse(await readFile(base + ".output.json", "utf8")) as BuildInfoOutput;
    // The roots and everything they import (the AST of a kept file refers to nodes of its imports).
    const keep = new Set<string>();
    const todo = [...rootSet];
    while (todo.length) {
      const name = todo.pop()!;
      if (keep.has(name)) continue;
      const source = output.sources[name];
      if (!source) throw new Error(`${name} is missing from build-info ${id}: run \`hardhat build\``);
      keep.add(name);
      for (const node of source.ast.nodes) if (node.nodeType === "ImportDirective") todo.push(node.absolutePath!);
    }
    const pick = <T>(record: Record<string, T> | undefined) =>
      Object.fromEntries(Object.entries(record ?? {}).filter(([name]) => keep.has(name)));
    for (const name of keep) {
      const content = input.input.sources[name]!.content;
      if (name.startsWith("project/")) {
        const onDiskPath = path.join(ROOT, name.slice("project/".length));
        const current = existsSync(onDiskPath) ? await readFile(onDiskPath, "utf8") : undefined;
        if (current !== content) {
          throw new Error(`the build output is stale for ${name.slice(8)} (build-info ${id}): run \`hardhat build\``);
        }
      }
      if (isAnalysed(name)) {
        covered.add(name);
        content.split("\n").forEach((line, i) => {
          if (/slither-disable/.test(line)) suppressions.add(`${name.slice(8)}:${i + 1}`);
        });
      }
      const target = path.join(scratch, scratchPath(name));
      if (!written.has(target)) {
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, content);
        written.add(target);
      }
    }
    // Hardhat 2's single-file build-info layout, which every crytic-compile version reads.
    const buildInfo = {
      _format: "hh-sol-build-info-1",
      id,
      solcVersion: input.solcVersion,
      solcLongVersion: input.solcLongVersion,
      input: { ...input.input, sources: pick(input.input.sources) },
      output: { ...output, sources: pick(output.sources), contracts: pick(output.contracts) },
    };
    await mkdir(path.join(scratch, "artifacts", "build-info"), { recursive: true });
    await writeFile(path.join(scratch, "artifacts", "build-info", `${id}.json`), JSON.stringify(buildInfo));
    units.push(id);
  }
  const missing = onDisk.filter((name) => !covered.has(name));
  if (missing.length) {
    throw new Error(
      `not in the build output: ${missing.map((n) => n.slice(8)).join(", ")}: run \`hardhat build\` ` +
        "(a file that declares no contract is only seen through a contract that imports it)",
    );
  }
  // crytic-compile picks its hardhat platform by this file; it never runs Hardhat (--hardhat-ignore-compile).
  await writeFile(path.join(scratch, "hardhat.config.js"), "// scratch project for slither (tools/slither.ts)\n");
  return { units, files: [...covered].map((n) => n.slice(8)).sort(), suppressions: [...suppressions].sort() };
}

// ---------------------------------------------------------------------------------------------------------------
// slither

interface SlitherElement {
  type: string;
  name: string;
  source_mapping?: { filename_relative?: string; lines?: number[] };
  type_specific_fields?: { parent?: SlitherElement; signature?: string };
}
interface SlitherResult {
  check: string;
  impact: Impact;
  confidence: string;
  description: string;
  elements: SlitherElement[];
}

/** `file:Contract.function(sig)` (or `file:Contract.variable`, `file:Contract`) of a slither element. */
function locate(element: SlitherElement | undefined): string {
  if (!element) return "(none)";
  // Statements (nodes) are located by their function: line numbers would go stale at every unrelated edit.
  let e: SlitherElement = element;
  while (e.type === "node" && e.type_specific_fields?.parent) e = e.type_specific_fields.parent;
  const names: string[] = [];
  for (let cur: SlitherElement | undefined = e; cur; cur = cur.type_specific_fields?.parent) {
    names.unshift(cur.type === "function" && cur.type_specific_fields?.signature ? cur.type_specific_fields.signature : cur.name);
  }
  return `${e.source_mapping?.filename_relative ?? "?"}:${names.join(".")}`;
}

function linesOf(element: SlitherElement | undefined): string {
  const lines = element?.source_mapping?.lines ?? [];
  const file = element?.source_mapping?.filename_relative ?? "?";
  if (!lines.length) return file;
  const first = lines[0]!;
  const last = lines[lines.length - 1]!;
  return first === last ? `${file}#L${first}` : `${file}#L${first}-L${last}`;
}

function slitherBin(): string {
  const bin = path.join(ROOT, ".venv", "bin", "slither");
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
  const artifactsDir = opts.artifactsDir ?? path.join(ROOT, "artifacts");
  const bin = slitherBin();
  const scratch = await mkdtemp(path.join(tmpdir(), "verdict-slither-"));
  try {
    const { units, files, suppressions } = await prepareScratch(artifactsDir, scratch);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // No `hardhat` on PATH: crytic-compile asks `hardhat console` for the paths, fails at once, takes the defaults.
      PATH: [path.dirname(bin), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
      // Offline by construction: any download attempt (a solc through solc-select, ...) fails instead of fetching.
      HTTP_PROXY: "http://127.0.0.1:9",
      HTTPS_PROXY: "http://127.0.0.1:9",
      http_proxy: "http://127.0.0.1:9",
      https_proxy: "http://127.0.0.1:9",
      NO_PROXY: "",
      no_proxy: "",
      PYTHONDONTWRITEBYTECODE: "1",
      // solc-select (a crytic-compile dependency, never used here) creates its .solc-select/ folder on import, under
      // $VIRTUAL_ENV if set, else $HOME: keep it in the scratch folder.
      VIRTUAL_ENV: scratch,
    };
    const args = [
      ".",
      "--hardhat-ignore-compile",
      "--npx-disable",
      "--exclude-dependencies",
      "--disable-color",
      "--no-fail-pedantic",
      "--json",
      "-",
    ];
    const { code, stdout, stderr } = await run(bin, args, { cwd: scratch, env });
    let parsed: { success: boolean; error: string | null; results?: { detectors?: SlitherResult[] } };
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw new Error(`slither exited ${code} without JSON output:\n${stderr.slice(-4000)}`);
    }
    if (!parsed.success) throw new Error(`slither failed: ${parsed.error}\n${stderr.slice(-4000)}`);
    const all = (parsed.results?.detectors ?? []).map(
      (r): Finding => ({
        check: r.check,
        impact: r.impact,
        confidence: r.confidence,
        location: locate(r.elements[0]),
        lines: linesOf(r.elements[0]),
        description: r.description.trim(),
      }),
    );
    // slither de-duplicates identical results across compilation units; `pragma` (one project-wide result listing
    // every pragma) differs per unit, so it is kept once, the one that lists the most.
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const f of [...all].sort((a, b) => b.description.length - a.description.length)) {
      const key = f.check === "pragma" ? f.check : `${f.check}|${f.location}|${f.description}`;
      if (!seen.has(key)) findings.push(f);
      seen.add(key);
    }
    findings.sort(
      (a, b) =>
        IMPACTS.indexOf(a.impact) - IMPACTS.indexOf(b.impact) ||
        a.check.localeCompare(b.check) ||
        a.location.localeCompare(b.location),
    );
    return { findings, units, files, suppressions, seconds: (performance.now() - started) / 1000 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Triage

export async function loadTriage(file = TRIAGE_FILE): Promise<TriageEntry[]> {
  const data = JSON.parse(await readFile(file, "utf8")) as { findings?: TriageEntry[] };
  const entries = data.findings ?? [];
  for (const e of entries) {
    if (!e.check || !e.location || !e.reason?.trim()) {
      throw new Error(`${path.relative(ROOT, file)}: every entry needs check, location and reason: ${JSON.stringify(e)}`);
    }
  }
  return entries;
}

export interface TriageVerdict {
  /** High/Medium findings no triage entry explains. */
  unexplained: Finding[];
  /** Triage entries that match no finding (fixed, moved or renamed: update or delete them). */
  stale: TriageEntry[];
  explained: { finding: Finding; entry: TriageEntry }[];
}

export function applyTriage(findings: Finding[], triage: TriageEntry[]): TriageVerdict {
  const used = new Set<TriageEntry>();
  const verdict: TriageVerdict = { unexplained: [], stale: [], explained: [] };
  for (const finding of findings) {
    if (!GATED.includes(finding.impact)) continue;
    const entry = triage.find((e) => e.check === finding.check && e.location === finding.location);
    if (entry) {
      used.add(entry);
      verdict.explained.push({ finding, entry });
    } else verdict.unexplained.push(finding);
  }
  verdict.stale = triage.filter((e) => !used.has(e));
  return verdict;
}

export function countByImpact(findings: Finding[]): Record<Impact, number> {
  const counts = Object.fromEntries(IMPACTS.map((i) => [i, 0])) as Record<Impact, number>;
  for (const f of findings) counts[f.impact] += 1;
  return counts;
}

export function formatCounts(findings: Finding[]): string {
  const counts = countByImpact(findings);
  return IMPACTS.map((i) => `${i} ${counts[i]}`).join(", ");
}

/** Count per check, highest impact first: `check (Impact): n`. */
export function formatChecks(findings: Finding[]): string[] {
  const byCheck = new Map<string, { impact: Impact; n: number }>();
  for (const f of findings) {
    const cur = byCheck.get(f.check) ?? { impact: f.impact, n: 0 };
    cur.n += 1;
    byCheck.set(f.check, cur);
  }
  return [...byCheck].map(([check, { impact, n }]) => `${check} (${impact}): ${n}`);
}

export const failed = (report: SlitherReport, verdict: TriageVerdict) =>
  verdict.unexplained.length > 0 || verdict.stale.length > 0 || report.suppressions.length > 0;

// ---------------------------------------------------------------------------------------------------------------
// CLI

async function main() {
  const args = process.argv.slice(2);
  const asJson = args.includes("--json");
  const at = args.indexOf("--artifacts");
  const report = await runSlither({ artifactsDir: at >= 0 ? path.resolve(args[at + 1] ?? "") : undefined });
  const verdict = applyTriage(report.findings, await loadTriage());
  if (asJson) {
    console.log(JSON.stringify({ ...report, triage: verdict }, null, 2));
  } else {
    console.log(`slither on ${report.files.length} files (${report.units.length} compilation unit(s)), ${report.seconds.toFixed(1)} s`);
    console.log("not analysed: contracts/generated/ (ezkl-generated verifiers), test/contracts/; node_modules is a dependency");
    for (const impact of IMPACTS) {
      const list = report.findings.filter((f) => f.impact === impact);
      if (!list.length) continue;
      console.log(`\n=== ${impact} (${list.length}) ===`);
      for (const f of list) {
        const entry = verdict.explained.find((x) => x.finding === f)?.entry;
        const tag = GATED.includes(impact) ? (entry ? "EXPLAINED" : "UNEXPLAINED") : "";
        console.log(`\n[${f.check}] ${tag} ${f.location}  (${f.lines}, confidence ${f.confidence})`);
        console.log("  " + f.description.replace(/\n/g, "\n  "));
        if (entry) console.log(`  triage: ${entry.reason}`);
      }
    }
    console.log(`\nby check: ${formatChecks(report.findings).join("; ")}`);
    console.log(`by impact: ${formatCounts(report.findings)}`);
    for (const e of verdict.stale) console.log(`STALE triage entry (matches no finding): ${e.check} ${e.location}`);
    for (const s of report.suppressions) console.log(`slither-disable comment at ${s}: explain it in the triage file instead`);
    console.log(
      failed(report, verdict)
        ? `FAIL: ${verdict.unexplained.length} unexplained High/Medium finding(s), ${verdict.stale.length} stale ` +
            `triage entr(ies), ${report.suppressions.length} slither-disable comment(s)`
        : `OK: all ${verdict.explained.length} High/Medium finding(s) explained in ${path.relative(ROOT, TRIAGE_FILE)}`,
    );
  }
  process.exitCode = failed(report, verdict) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 2;
  });
}
