// `make load`: the load scenario (infra/load.ts) at full size, written to bench/results/load.json (or
// load-<N>s-blocks.json on an interval-mined chain).
//   make load [ARGS="--jobs 1000 --block-time 12"]
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { runLoad } from "../infra/load.js";
import { REPO_ROOT } from "../shared/paths.js";
import { isMain } from "./machine.js";

// `tsx bench/load.ts --jobs N`: the full load run, written to bench/results/load.json.
if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { jobs: { type: "string", default: "1000" }, "out-of-range": { type: "string", default: "10" }, "block-time": { type: "string", default: "0" } } });
  const say = (l: string) => console.log(`\x1b[36m[load]\x1b[0m ${l}`);
  const blockTimeMs = Number(values["block-time"]) * 1000;
  const result = await runLoad({ jobs: Number(values.jobs), outOfRange: Number(values["out-of-range"]), blockTimeMs: blockTimeMs || undefined, log: say });
  const dir = path.join(REPO_ROOT, "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = blockTimeMs ? `load-${blockTimeMs / 1000}s-blocks.json` : "load.json";
  await writeFile(path.join(dir, file), `${JSON.stringify({ generatedAt: new Date().toISOString(), ...result }, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  say(`wrote bench/results/${file}`);
  process.exit(result.lost === 0 && result.duplicated === 0 && result.honest_slashed === 0 && result.relayer_nonce_errors === 0 ? 0 : 1);
}
