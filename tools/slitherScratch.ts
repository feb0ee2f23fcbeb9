// Hardhat 3 build output -> a Hardhat-2-style scratch project that crytic-compile (slither) can read, needed while
// crytic-compile lacks Hardhat 3 support. The build-infos that the current artifacts point at
// (artifacts/build-info/<id>.json + <id>.output.json) are pruned to contracts/ (minus contracts/generated/, the
// ezkl verifiers, and test/contracts/, the test-only contracts) and what they import, and written with the sources
// they were compiled from; crytic-compile's hardhat platform reads them with --hardhat-ignore-compile.
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "../shared/paths.js";

/** Hardhat 3 source names of the analysed files: the hand-written contracts. */
const isAnalysed = (sourceName: string) =>
  sourceName.startsWith("project/contracts/") && !sourceName.startsWith("project/contracts/generated/");

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
export async function prepareScratch(
  artifactsDir: string,
  scratch: string,
): Promise<{ units: string[]; files: string[] }> {
  // Roots per build-info: the analysed sources whose artifacts point at it.
  const roots = new Map<string, Set<string>>();
  for (const file of await listFiles(path.join(artifactsDir, "contracts"), ".json")) {
    const artifact = JSON.parse(await readFile(file, "utf8")) as { inputSourceName?: string; buildInfoId?: string };
    if (!artifact.inputSourceName || !artifact.buildInfoId || !isAnalysed(artifact.inputSourceName)) continue;
    if (!roots.has(artifact.buildInfoId)) roots.set(artifact.buildInfoId, new Set());
    roots.get(artifact.buildInfoId)!.add(artifact.inputSourceName);
  }
  if (roots.size === 0) throw new Error(`no contract artifacts under ${artifactsDir}: run \`hardhat build\` first`);

  const onDisk = (await listFiles(path.join(REPO_ROOT, "contracts"), ".sol"))
    .map((f) => "project/" + path.relative(REPO_ROOT, f).split(path.sep).join("/"))
    .filter(isAnalysed);
  const covered = new Set<string>();
  const units: string[] = [];
  const written = new Set<string>();

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
        const onDiskPath = path.join(REPO_ROOT, name.slice("project/".length));
        const current = existsSync(onDiskPath) ? await readFile(onDiskPath, "utf8") : undefined;
        if (current !== content) {
          throw new Error(`the build output is stale for ${name.slice(8)} (build-info ${id}): run \`hardhat build\``);
        }
      }
      if (isAnalysed(name)) covered.add(name);
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
  return { units, files: [...covered].map((n) => n.slice(8)).sort() };
}
