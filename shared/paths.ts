import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whichever module or working directory asks. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The data directory (installed model bundles) when neither --home nor VERDICT_HOME names one: never the repository. */
export const DEFAULT_HOME = path.join(os.homedir(), ".verdict");
