// Content-addressed model bundles: everything needed to prove and verify one registered model version (ONNX,
// settings, compiled circuit, keys, the SRS they were made with, the verifier source and the manifest), plus an
// index (bundle.json) of every file's sha256 and size. The bundle id is the sha256 of the index bytes, and the
// registry's `uri` names it, so a bundle fetched from anywhere is checked end to end: index against the id, files
// against the index, and ONNX/circuit/vk against the registry's hashes. Installed under <home>/bundles/.
// Run-time code: it copies, fetches and checks files, and never builds keys or an SRS.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import express from "express";
import { z } from "zod";
import { VerdictError } from "../../shared/errors.js";
import type { ModelRegistry } from "../../types/ethers-contracts/index.js";
import { manifestSchema, registryHashes, type ArtifactFile, type CircuitArtifacts, type CircuitManifest, type RegistryHashes } from "./artifacts.js";

const INDEX = "bundle.json";
const FORMAT = "verdict-bundle/1";
const ONNX = "network.onnx";
const SRS = "kzg.srs";
const MANIFEST = "manifest.json";
const CIRCUIT_FILES = ["settings.json", "network.compiled", "vk.key", "pk.key"] as const satisfies readonly ArtifactFile[];
const VERIFIER_FILES = { single: ["Verifier.sol"], reusable: ["Reusable.sol", "vka.bin"] } as const satisfies Record<string, readonly ArtifactFile[]>;

const indexSchema = z
  .object({
    format: z.literal(FORMAT),
    name: z.string().regex(/^[a-z][a-z0-9-]*$/),
    verifier: z.enum(["single", "reusable"]),
    files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(0) })),
  })
  .strict();
type BundleIndex = z.infer<typeof indexSchema>;

/** Where a registered bundle lives: `base` is the folder (URL) holding `<name>-<id16>/` folders. */
export interface BundleRef {
  base: string;
  folder: string;
  id: string;
}

export const bundlesDir = (home: string): string => path.join(home, "bundles");

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** The registry URI of a bundle: its folder under `base`, with the full id as fragment (`#sha256=<id>`). */
export function bundleUri(base: string, ref: Omit<BundleRef, "base">): string {
  return `${base.replace(/\/+$/, "")}/${ref.folder}/#sha256=${ref.id}`;
}

export function parseBundleUri(uri: string): BundleRef {
  const m = /^(.+)\/([a-z][a-z0-9-]*-([0-9a-f]{16}))\/?#sha256=([0-9a-f]{64})$/.exec(uri);
  if (!m || !m[4]!.startsWith(m[3]!)) {
    throw new VerdictError("NOT_A_BUNDLE_URI", `registry URI '${uri}' names no model bundle (<base>/<name>-<id16>/#sha256=<id>)`, "re-register the model with `verdict model build` (it records a bundle URI)");
  }
  return { base: m[1]!, folder: m[2]!, id: m[4]! };
}

/** A --from argument (URL, or a local bundles folder) as a base URL. */
export function baseUrl(from: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(from) ? from : pathToFileURL(path.resolve(from)).href;
}

/** Moves the finished `scratch` folder to `dir` in one rename, replacing a bad copy there. */
async function install(scratch: string, dir: string): Promise<void> {
  if (existsSync(dir)) {
    const old = `${dir}.old-${process.pid}`;
    await rename(dir, old);
    await rm(old, { recursive: true, force: true });
  }
  await rename(scratch, dir);
}

async function scratchFor(dir: string): Promise<string> {
  // A dot name: `model serve` does not publish half-written bundles.
  const scratch = path.join(path.dirname(dir), `.tmp-${path.basename(dir)}-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  return scratch;
}

/** Writes the bundle of built artifacts into <home>/bundles/<name>-<id16>/ (build time). */
export async function writeBundle(circuit: CircuitArtifacts, home: string): Promise<BundleRef & { dir: string }> {
  const sources: Record<string, string> = {
    [ONNX]: circuit.onnx,
    [SRS]: circuit.srs,
    ...Object.fromEntries([...CIRCUIT_FILES, ...VERIFIER_FILES[circuit.verifier]].map((f) => [f, circuit.file(f)])),
  };
  const scratch = await scratchFor(path.join(bundlesDir(home), circuit.name));
  try {
    for (const [name, from] of Object.entries(sources)) await copyFile(from, path.join(scratch, name));
    await writeFile(path.join(scratch, MANIFEST), `${JSON.stringify(manifestSchema.parse(circuit), null, 2)}\n`);
    const files: BundleIndex["files"] = {};
    for (const name of [...Object.keys(sources), MANIFEST].sort()) {
      const bytes = await readFile(path.join(scratch, name));
      files[name] = { sha256: sha256(bytes), size: bytes.length };
    }
    const index = Buffer.from(`${JSON.stringify({ format: FORMAT, name: circuit.name, verifier: circuit.verifier, files } satisfies BundleIndex, null, 2)}\n`);
    await writeFile(path.join(scratch, INDEX), index);
    const id = sha256(index);
    const folder = `${circuit.name}-${id.slice(0, 16)}`;
    const dir = path.join(bundlesDir(home), folder);
    await install(scratch, dir);
    return { base: pathToFileURL(bundlesDir(home)).href, folder, id, dir };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The files a bundle of this index must hold (no more: an index naming others is refused). */
function expectedFiles(index: BundleIndex): string[] {
  return [ONNX, SRS, MANIFEST, ...CIRCUIT_FILES, ...VERIFIER_FILES[index.verifier]].sort();
}

/** Parses an index and checks it lists exactly the files of a bundle. */
function parseIndex(bytes: Buffer, where: string): BundleIndex {
  const parsed = indexSchema.safeParse(JSON.parse(bytes.toString("utf8")));
  if (!parsed.success) throw new VerdictError("BAD_BUNDLE", `${where}: not a ${FORMAT} index (${parsed.error.issues[0]?.message})`);
  const listed = Object.keys(parsed.data.files).sort();
  if (listed.join() !== expectedFiles(parsed.data).join()) {
    throw new VerdictError("BAD_BUNDLE", `${where}: lists ${listed.join(", ")}; a ${parsed.data.verifier}-verifier bundle holds ${expectedFiles(parsed.data).join(", ")}`);
  }
  return parsed.data;
}

/** Refuses an index whose bytes are not the bundle id (tampered, or another bundle). */
function checkIndexHash(bytes: Buffer, ref: BundleRef, where: string): void {
  const got = sha256(bytes);
  if (got !== ref.id) throw new VerdictError("BUNDLE_INDEX_MISMATCH", `${where}: the index hashes to ${got}, the registry names bundle ${ref.id}`, "fetch the bundle from a source that serves the registered one (--from)");
}

/** The registry's hashes of a model version; a batch verifier records no ONNX hash (its base version does). */
type ExpectedHashes = Omit<RegistryHashes, "onnxHash"> & { onnxHash?: string };

/**
 * Checks an installed (or downloaded) bundle folder: index against the id, every file against the index, and
 * ONNX, circuit and verifying key against the registry's hashes. Returns its artifacts.
 */
async function checkBundle(dir: string, ref: BundleRef, expected: ExpectedHashes): Promise<CircuitArtifacts> {
  const indexBytes = await readFile(path.join(dir, INDEX));
  checkIndexHash(indexBytes, ref, path.join(dir, INDEX));
  const index = parseIndex(indexBytes, path.join(dir, INDEX));
  for (const [name, want] of Object.entries(index.files)) {
    const file = path.join(dir, name);
    const bytes = existsSync(file) ? await readFile(file) : undefined;
    if (!bytes || bytes.length !== want.size || sha256(bytes) !== want.sha256) {
      throw new VerdictError("BUNDLE_FILE_MISMATCH", `${ref.folder}: ${name} ${bytes ? "does not match" : "is missing from"} the bundle index (sha256 ${want.sha256}, ${want.size} bytes)`, "pull the bundle again from a trusted source (--from)");
    }
  }
  const file = (name: string) => path.join(dir, name);
  const got = await registryHashes({ onnx: file(ONNX), settings: file("settings.json"), compiled: file("network.compiled"), vk: file("vk.key") });
  const culprits = { onnxHash: ONNX, circuitHash: "settings.json + network.compiled", vkHash: "vk.key" } as const;
  const wrong = (Object.keys(culprits) as (keyof RegistryHashes)[]).filter((k) => expected[k] !== undefined && got[k].toLowerCase() !== expected[k].toLowerCase());
  if (wrong.length) {
    throw new VerdictError("BUNDLE_REGISTRY_MISMATCH", `${ref.folder}: ${wrong.map((k) => `${culprits[k]} (${k} ${got[k]}, registered ${expected[k]})`).join("; ")} differ from the registered model version`, "the bundle is not the registered one: pull it from another source (--from)");
  }
  const manifest = manifestSchema.parse(JSON.parse(await readFile(file(MANIFEST), "utf8")));
  return { ...manifest, name: index.name, verifier: index.verifier, dir, onnx: file(ONNX), srs: file(SRS), file };
}

async function fetchBytes(url: string): Promise<Buffer> {
  if (url.startsWith("file:")) {
    const file = fileURLToPath(url);
    if (!existsSync(file)) throw new VerdictError("BUNDLE_FETCH_FAILED", `${file} does not exist`);
    return readFile(file);
  }
  if (!/^https?:/.test(url)) throw new VerdictError("UNSUPPORTED_BUNDLE_URI", `cannot fetch ${url}: only file://, http:// and https:// are supported`, "pass --from <http(s) URL or folder>");
  const res = await fetch(url).catch((e: unknown) => {
    throw new VerdictError("BUNDLE_FETCH_FAILED", `GET ${url}: ${(e as Error).message}`, undefined, true);
  });
  if (!res.ok) throw new VerdictError("BUNDLE_FETCH_FAILED", `GET ${url}: HTTP ${res.status}`, undefined, res.status >= 500);
  return Buffer.from(await res.arrayBuffer());
}

export interface PullOptions {
  /** The registry's uri of the model version. */
  uri: string;
  /** The registry's hashes of the model version (or batch verifier). */
  expected: ExpectedHashes;
  home: string;
  /** Another base (URL or folder holding `<name>-<id16>/`) than the registry URI's. */
  from?: string;
}

/**
 * Installs the registered bundle into <home>/bundles/ (atomically, after every check), or keeps an installed one
 * that passes them. Returns the installed artifacts and whether anything was fetched.
 */
export async function pullBundle(o: PullOptions): Promise<{ circuit: CircuitArtifacts; fetched: boolean; source: string }> {
  const ref = parseBundleUri(o.uri);
  const dir = path.join(bundlesDir(o.home), ref.folder);
  const source = `${(o.from ? baseUrl(o.from) : ref.base).replace(/\/+$/, "")}/${ref.folder}/`;
  if (existsSync(dir)) {
    const installed = await checkBundle(dir, ref, o.expected).catch(() => undefined);
    if (installed) return { circuit: installed, fetched: false, source };
  }
  const indexBytes = await fetchBytes(`${source}${INDEX}`);
  checkIndexHash(indexBytes, ref, `${source}${INDEX}`);
  const index = parseIndex(indexBytes, `${source}${INDEX}`);
  const scratch = await scratchFor(dir);
  try {
    await writeFile(path.join(scratch, INDEX), indexBytes);
    for (const name of Object.keys(index.files)) await writeFile(path.join(scratch, name), await fetchBytes(`${source}${name}`));
    await checkBundle(scratch, ref, o.expected);
    await install(scratch, dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { circuit: await checkBundle(dir, ref, o.expected), fetched: true, source };
}

/**
 * The operator's (and verifier's) loader: the installed bundle of a registered model version, checked against
 * the registry. Missing or mismatching bundles fail with the command that installs the right one.
 */
export async function loadBundle(home: string, modelId: number | bigint, version: { uri: string } & ExpectedHashes): Promise<CircuitArtifacts> {
  const hint = `verdict model pull ${modelId} --home ${home}`;
  let ref: BundleRef;
  try {
    ref = parseBundleUri(version.uri);
  } catch (e) {
    throw new VerdictError("NOT_A_BUNDLE_URI", `model ${modelId}: ${(e as VerdictError).message.split("\n")[0]}`, "re-register the model with `verdict model build` (it records a bundle URI)");
  }
  const dir = path.join(bundlesDir(home), ref.folder);
  if (!existsSync(path.join(dir, INDEX))) throw new VerdictError("BUNDLE_MISSING", `model ${modelId}: its bundle ${ref.folder} is not installed in ${bundlesDir(home)}`, hint);
  try {
    return await checkBundle(dir, ref, version);
  } catch (e) {
    if (!(e instanceof VerdictError)) throw e;
    throw new VerdictError(e.code, `model ${modelId}: ${e.message.split("\n")[0]}`, hint);
  }
}

/** Serves a bundles folder over HTTP (what `verdict model pull --from http://…` fetches). */
export async function serveBundles(dir: string, port: number, host: string): Promise<{ url: string; server: Server }> {
  if (!existsSync(dir)) throw new VerdictError("NOT_FOUND", `${dir} does not exist`, "verdict model build <model> (writes bundles under <home>/bundles)");
  const app = express();
  app.use(express.static(path.resolve(dir), { dotfiles: "ignore", index: false }));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s)).on("error", reject);
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  return { url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}/`, server };
}

/** Pulls the bundle of registered model `modelId`, named and hash-checked by its registry entry (see pullBundle). */
export async function pullModel(registry: Pick<ModelRegistry, "model">, modelId: number | bigint, home: string, from?: string): ReturnType<typeof pullBundle> {
  const version = await registry.model(modelId);
  return pullBundle({ uri: version.uri, expected: version, home, from });
}

/** A registered batch verifier of a model version (ModelRegistry.registerBatch): one proof for up to `slots` jobs. */
export interface BatchRecord {
  batchId: number;
  slots: number;
  uri: string;
  circuitHash: string;
  vkHash: string;
}

/** The batch verifiers registered for `modelId` and not revoked, fewest slots first. */
export async function batchesOf(registry: Pick<ModelRegistry, "batchCount" | "batch">, modelId: number | bigint): Promise<BatchRecord[]> {
  const count = Number(await registry.batchCount());
  const all = await Promise.all(Array.from({ length: count }, (_, i) => registry.batch(i + 1).then((b) => ({ b, batchId: i + 1 }))));
  return all
    .filter(({ b }) => BigInt(b.baseModelId) === BigInt(modelId) && !b.revoked)
    .map(({ b, batchId }) => ({ batchId, slots: Number(b.slots), uri: b.uri, circuitHash: b.circuitHash, vkHash: b.vkHash }))
    .sort((x, y) => x.slots - y.slots);
}

/** Pulls the bundles of every batch verifier registered for `modelId` (each hash-checked against its record). */
export async function pullBatches(registry: Pick<ModelRegistry, "batchCount" | "batch">, modelId: number | bigint, home: string, from?: string): Promise<BatchRecord[]> {
  const batches = await batchesOf(registry, modelId);
  for (const b of batches) await pullBundle({ uri: b.uri, expected: b, home, from });
  return batches;
}

/**
 * The manifest (layout, scales, calibrated input range) of a registered bundle, without fetching its keys: the
 * index is checked against the bundle id and the manifest against the index. Read from `<home>/bundles` when the
 * bundle is installed there, else fetched from `from` or the URI's base.
 */
export async function fetchManifest(uri: string, o: { home?: string; from?: string } = {}): Promise<CircuitManifest> {
  const ref = parseBundleUri(uri);
  const installed = o.home ? path.join(bundlesDir(o.home), ref.folder) : undefined;
  const source = installed && existsSync(path.join(installed, INDEX)) ? `${pathToFileURL(installed).href}/` : `${(o.from ? baseUrl(o.from) : ref.base).replace(/\/+$/, "")}/${ref.folder}/`;
  const indexBytes = await fetchBytes(`${source}${INDEX}`);
  checkIndexHash(indexBytes, ref, `${source}${INDEX}`);
  const index = parseIndex(indexBytes, `${source}${INDEX}`);
  const bytes = await fetchBytes(`${source}${MANIFEST}`);
  const want = index.files[MANIFEST]!;
  if (bytes.length !== want.size || sha256(bytes) !== want.sha256) throw new VerdictError("BUNDLE_FILE_MISMATCH", `${ref.folder}: ${MANIFEST} does not match the bundle index`, "fetch the bundle from a trusted source (--from)");
  return manifestSchema.parse(JSON.parse(bytes.toString("utf8")));
}
