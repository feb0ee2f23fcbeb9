// Model bundles (issue 11): a bundle built here is pulled over HTTP from `model serve` into another data directory,
// checked file by file against its index, the index against the id the registry URI names, and ONNX, circuit and
// verifying key against the registry's hashes; the operator's loader accepts only such an installed bundle and
// never builds keys or an SRS.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { ModelCatalog } from "../../operator/catalog.js";
import { REPO_ROOT } from "../../shared/paths.js";
import type { ModelRegistry } from "../../types/ethers-contracts/index.js";
import { circuitHashes, type RegistryHashes } from "../../zk/runtime/artifacts.js";
import { bundlesDir, bundleUri, loadBundle, pullBundle, serveBundles, writeBundle, type BundleRef } from "../../zk/runtime/bundle.js";
import { ensureCircuit, loadModelSpec, readInputRows, type BuiltCircuit } from "../../zk/build/circuit.js";
import { prove } from "../../zk/runtime/prover.js";
import { rejection } from "../fixtures/errors.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const tmp = (tag: string) => mkdtemp(path.join(tmpdir(), `verdict-${tag}-`));
/** `bytes` with its middle byte inverted. */
const flipped = (bytes: Buffer) => {
  const i = bytes.length >> 1;
  bytes.writeUInt8(bytes.readUInt8(i) ^ 0xff, i);
  return bytes;
};

/** A registry that knows one model version (id 1 .. count) and no batch verifier, as ModelCatalog reads it. */
function registryOf(versions: Record<number, { uri: string } & RegistryHashes>): ModelRegistry {
  return {
    modelCount: async () => BigInt(Object.keys(versions).length),
    model: async (id: bigint | number) => ({ ...versions[Number(id)]!, status: 1n }),
    batchCount: async () => 0n, // no batch verifiers
  } as unknown as ModelRegistry;
}

describe("model bundles: pulled, checked against the registry, loaded without building", function () {
  this.timeout(120_000);
  let circuit: BuiltCircuit;
  let expected: RegistryHashes;
  let bundle: BundleRef & { dir: string };
  let uri: string;
  let publisher: string;
  const servers: Server[] = [];
  /** A served copy of the bundle folder, changed by `tamper`, under a root served over HTTP. */
  let tamperRoot: string;
  let tamperUrl: string;

  async function tampered(tamper: (dir: string) => Promise<void>): Promise<void> {
    await rm(tamperRoot, { recursive: true, force: true });
    await cp(bundle.dir, path.join(tamperRoot, bundle.folder), { recursive: true });
    await tamper(path.join(tamperRoot, bundle.folder));
  }

  before(async () => {
    circuit = await ensureCircuit(await loadModelSpec("spike"));
    expected = await circuitHashes(circuit);
    publisher = await tmp("publisher");
    bundle = await writeBundle(circuit, publisher);
    const served = await serveBundles(bundlesDir(publisher), 0, "127.0.0.1");
    servers.push(served.server);
    uri = bundleUri(served.url, bundle);
    tamperRoot = await tmp("tampered");
    const tamperServed = await serveBundles(tamperRoot, 0, "127.0.0.1");
    servers.push(tamperServed.server);
    tamperUrl = tamperServed.url;
  });

  after(async () => {
    for (const s of servers) s.close();
    await rm(publisher, { recursive: true, force: true });
    await rm(tamperRoot, { recursive: true, force: true });
  });

  it("the bundle id is the sha256 of its index, which lists every file with its sha256 and size", async () => {
    const index = await readFile(path.join(bundle.dir, "bundle.json"));
    expect(sha256(index)).to.equal(bundle.id);
    expect(bundle.folder).to.equal(`spike-${bundle.id.slice(0, 16)}`);
    const { files } = JSON.parse(index.toString()) as { files: Record<string, { sha256: string; size: number }> };
    expect(Object.keys(files).sort()).to.deep.equal(["Verifier.sol", "kzg.srs", "manifest.json", "network.compiled", "network.onnx", "pk.key", "settings.json", "vk.key"]);
    for (const [name, f] of Object.entries(files)) expect(sha256(await readFile(path.join(bundle.dir, name))), name).to.equal(f.sha256);
    expect(uri).to.match(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/spike-[0-9a-f]{16}/#sha256=${bundle.id}$`));
  });

  it("pull over HTTP from `model serve` installs the bundle; the operator's catalog loads it by registry id and proves with it", async () => {
    const home = await tmp("home");
    const pulled = await pullBundle({ uri, expected, home });
    expect(pulled.fetched).to.equal(true);
    expect(pulled.circuit.dir).to.equal(path.join(bundlesDir(home), bundle.folder));
    expect((await pullBundle({ uri, expected, home })).fetched, "an installed, intact bundle is kept").to.equal(false);
    // Only the bundle folder was written (no scratch folder left behind).
    expect(await readdir(bundlesDir(home))).to.deep.equal([bundle.folder]);

    const catalog = await ModelCatalog.load([1], home, registryOf({ 1: { uri, ...expected } }), {} as Redis, "test", pino({ level: "silent" }));
    const loaded = catalog.get(1)!.circuit;
    expect(loaded).to.include({ name: "spike", verifier: "single", logrows: circuit.logrows, srs: path.join(loaded.dir, "kzg.srs") });
    expect(await circuitHashes(loaded)).to.deep.equal(expected);
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), loaded.inputs.count, "sample");
    const proof = await prove(loaded, row!); // throws unless ezkl verifies the proof with the bundle's vk and SRS
    expect(proof.instances).to.have.length(loaded.inputs.count + loaded.outputs.count);
    await rm(home, { recursive: true, force: true });
  });

  for (const file of ["pk.key", "vk.key", "network.onnx", "network.compiled"]) {
    it(`a tampered ${file} in the served bundle is refused with BUNDLE_FILE_MISMATCH naming it, and nothing is installed`, async () => {
      await tampered(async (dir) => {
        await writeFile(path.join(dir, file), flipped(await readFile(path.join(dir, file))));
      });
      const home = await tmp("home");
      const err = await rejection(pullBundle({ uri, expected, home, from: tamperUrl }));
      expect(err.code).to.equal("BUNDLE_FILE_MISMATCH");
      expect(err.message).to.include(`${file} does not match the bundle index`);
      expect(existsSync(path.join(bundlesDir(home), bundle.folder))).to.equal(false);
      await rm(home, { recursive: true, force: true });
    });
  }

  it("a consistent bundle (index re-hashed, new id) around another vk is refused against the registry's vkHash", async () => {
    // An attacker who controls the URI can publish a self-consistent bundle; only the registry hashes catch it.
    await tampered(async (dir) => {
      const vk = flipped(await readFile(path.join(dir, "vk.key")));
      await writeFile(path.join(dir, "vk.key"), vk);
      const index = JSON.parse(await readFile(path.join(dir, "bundle.json"), "utf8")) as { files: Record<string, { sha256: string }> };
      index.files["vk.key"]!.sha256 = sha256(vk);
      await writeFile(path.join(dir, "bundle.json"), `${JSON.stringify(index, null, 2)}\n`);
    });
    const indexBytes = await readFile(path.join(tamperRoot, bundle.folder, "bundle.json"));
    const id = sha256(indexBytes);
    const folder = `spike-${id.slice(0, 16)}`;
    await cp(path.join(tamperRoot, bundle.folder), path.join(tamperRoot, folder), { recursive: true });
    const err = await rejection(pullBundle({ uri: bundleUri(tamperUrl, { folder, id }), expected, home: await tmp("home") }));
    expect(err.code).to.equal("BUNDLE_REGISTRY_MISMATCH");
    expect(err.message).to.include("vk.key (vkHash").and.not.include("network.onnx");
  });

  it("an index whose hash differs from the id in the URI is refused with BUNDLE_INDEX_MISMATCH", async () => {
    await tampered(async (dir) => writeFile(path.join(dir, "bundle.json"), `${(await readFile(path.join(dir, "bundle.json"), "utf8")).trimEnd()} \n`));
    const err = await rejection(pullBundle({ uri, expected, home: await tmp("home"), from: tamperUrl }));
    expect(err.code).to.equal("BUNDLE_INDEX_MISMATCH");
    // The same index under a URI naming another id (same folder prefix) is refused too.
    const otherId = `${bundle.id.slice(0, 16)}${"0".repeat(48)}`;
    const other = await rejection(pullBundle({ uri: bundleUri(tamperUrl, { folder: bundle.folder, id: otherId }), expected, home: await tmp("home"), from: bundlesDir(publisher) }));
    expect(other.code).to.equal("BUNDLE_INDEX_MISMATCH");
  });

  it("the catalog fails start-up on a missing bundle with the `verdict model pull` command, and on a tampered installed one", async () => {
    const home = await tmp("home");
    const registry = registryOf({ 1: { uri, ...expected }, 2: { uri, ...expected }, 3: { uri, ...expected } });
    const missing = await rejection(ModelCatalog.load([3], home, registry, {} as Redis, "test", pino({ level: "silent" })));
    expect(missing.code).to.equal("BUNDLE_MISSING");
    expect(missing.message).to.include(`Try: verdict model pull 3 --home ${home}`);

    await pullBundle({ uri, expected, home });
    const pk = path.join(bundlesDir(home), bundle.folder, "pk.key");
    await writeFile(pk, Buffer.concat([await readFile(pk), Buffer.from([0])]));
    const broken = await rejection(loadBundle(home, 3, { uri, ...expected }));
    expect(broken.code).to.equal("BUNDLE_FILE_MISMATCH");
    expect(broken.message).to.include("pk.key").and.include(`Try: verdict model pull 3 --home ${home}`);
    // A pull repairs it.
    expect((await pullBundle({ uri, expected, home })).fetched).to.equal(true);
    await loadBundle(home, 3, { uri, ...expected });
    await rm(home, { recursive: true, force: true });
  });

  it("a registry URI that names no bundle is refused with NOT_A_BUNDLE_URI", async () => {
    const err = await rejection(loadBundle(await tmp("home"), 1, { uri: "verdict:models/spike@0123456789abcdef", ...expected }));
    expect(err.code).to.equal("NOT_A_BUNDLE_URI");
  });
});

/** Local modules `entry` imports, transitively (static `import ... from "./x.js"` lines). */
async function importGraph(entry: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const source = await readFile(entry, "utf8");
  for (const m of source.matchAll(/^(?:import|export)\s(?!type\b)[^;]*?from\s+"(\.{1,2}\/[^"]+)\.js";/gms)) {
    const target = path.resolve(path.dirname(entry), `${m[1]}.ts`);
    if (existsSync(target)) await importGraph(target, seen);
  }
  return seen;
}

describe("nothing but `model build` can generate keys or an SRS", () => {
  const rel = (f: string) => path.relative(REPO_ROOT, f);

  const entries = { "operator/main.ts": "operator start-up", "cli/commands/job.ts": "`verdict verify`", "zk/runtime/bundle.ts": "bundle pull and load" };
  for (const [entry, what] of Object.entries(entries)) {
    it(`${entry} (${what}) never loads build-time code (zk/build/)`, async () => {
      const graph = [...(await importGraph(path.join(REPO_ROOT, entry)))].map(rel);
      expect(graph).to.include.members(entry === "zk/runtime/bundle.ts" ? ["zk/runtime/artifacts.ts"] : ["zk/runtime/bundle.ts", "zk/runtime/artifacts.ts"]);
      expect(graph.filter((f) => f.startsWith("zk/build/"))).to.deep.equal([]);
    });
  }

  it("only zk/build/circuit.ts and zk/build/srs.ts call ensureDevSrs or the bridge's setup/srs (outside tests)", async () => {
    const callers: string[] = [];
    for (const dir of ["cli", "operator", "relayer", "deploy", "infra", "demo", "bench", "dashboard", "shared", "zk"]) {
      for (const f of await readdir(path.join(REPO_ROOT, dir), { recursive: true })) {
        if (!f.endsWith(".ts")) continue;
        const source = await readFile(path.join(REPO_ROOT, dir, f), "utf8");
        if (/ensureDevSrs\(|runBridge\(\s*"(setup|srs)"/.test(source)) callers.push(path.join(dir, f));
      }
    }
    expect(callers.sort()).to.deep.equal(["zk/build/circuit.ts", "zk/build/srs.ts"]);
  });
});
