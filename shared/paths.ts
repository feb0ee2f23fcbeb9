import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whichever module or working directory asks. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
