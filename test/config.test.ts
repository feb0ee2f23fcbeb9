import { expect } from "chai";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../shared/config.js";
import { VerdictError } from "../shared/errors.js";
import { REPO_ROOT } from "../shared/paths.js";

describe("configuration", () => {
  it("loadConfig reads the commented example file and matches the defaults", () => {
    const fromFile = loadConfig(path.join(REPO_ROOT, "config", "example.json"), {});
    expect(fromFile).to.deep.equal(loadConfig(undefined, {}));
  });

  it("loadConfig takes keys and overrides from the environment", () => {
    const key = `0x${"11".repeat(32)}`;
    const c = loadConfig(undefined, { VERDICT_OPERATOR_KEY: key, VERDICT_RPC_URL: "http://10.0.0.1:8545", VERDICT_MODELS: "1,2", VERDICT_HOME: "/srv/verdict" });
    expect(c.operator.privateKey).to.equal(key);
    expect(c.rpcUrl).to.equal("http://10.0.0.1:8545");
    expect(c.operator.models).to.deep.equal([1, 2]);
    expect(c.home).to.equal("/srv/verdict");
  });

  it("loadConfig refuses bad values with BAD_CONFIG naming each field, and never echoes a key", () => {
    try {
      loadConfig(undefined, { VERDICT_OPERATOR_KEY: "0xsecret", VERDICT_RPC_URL: "not a url" });
      expect.fail("expected BAD_CONFIG");
    } catch (e) {
      expect(e).to.be.instanceOf(VerdictError);
      expect((e as VerdictError).code).to.equal("BAD_CONFIG");
      expect((e as Error).message).to.match(/rpcUrl/).and.match(/operator\.privateKey/);
      expect((e as Error).message).not.to.include("0xsecret");
    }
  });

  it("loadConfig refuses relayer confirmations below the operator's (a reorg in between would lose a job)", async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), "verdict-config-")), "c.json");
    await writeFile(file, JSON.stringify({ operator: { confirmations: 3 }, relayer: { confirmations: 2 } }));
    expect(() => loadConfig(file, {})).to.throw(VerdictError, /relayer\.confirmations must be at least operator\.confirmations/);
  });
});
