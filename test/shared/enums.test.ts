// The TypeScript enum lists (shared/enums.ts) against their Solidity declarations: the ABI carries enums as
// uint8, so a value added or reordered in a contract would otherwise be misnamed silently off-chain.
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { JOB_STATUSES, MARKET_OUTCOMES, MODEL_STATUSES, VERIFIER_KINDS } from "../../shared/enums.js";
import { REPO_ROOT } from "../../shared/paths.js";

async function solidityEnum(file: string, name: string): Promise<string[]> {
  const source = await readFile(path.join(REPO_ROOT, "contracts", file), "utf8");
  const body = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(source)?.[1];
  if (body === undefined) throw new Error(`no enum ${name} in ${file}`);
  return body.split(",").map((v) => v.replace(/\/\/.*$/gm, "").trim()).filter(Boolean);
}

describe("on-chain enums", () => {
  for (const [names, file, name] of [
    [JOB_STATUSES, "types/Job.sol", "JobStatus"],
    [MODEL_STATUSES, "types/ModelVersion.sol", "ModelStatus"],
    [VERIFIER_KINDS, "types/ModelVersion.sol", "VerifierKind"],
    [MARKET_OUTCOMES, "consumers/PredictionMarket.sol", "Outcome"],
  ] as const) {
    it(`${name} lists the values of contracts/${file} in declaration order`, async () => {
      expect([...names]).to.deep.equal(await solidityEnum(file, name));
    });
  }
});
