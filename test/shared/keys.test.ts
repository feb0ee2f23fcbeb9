// shared/keys.ts: one naming scheme for the signing key of the CLI, the operator and the relayer (VERDICT_KEY or
// an encrypted VERDICT_KEYSTORE with its password from a file or the environment), the old names still honoured
// with a deprecation warning, and clear errors that never echo a key.
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { encryptKeystoreJsonSync, Wallet } from "ethers";
import { signerKey } from "../../shared/keys.js";
import { VerdictError } from "../../shared/errors.js";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ADDRESS = new Wallet(KEY).address;

async function failure(p: Promise<unknown>): Promise<VerdictError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).to.be.instanceOf(VerdictError);
  return e as VerdictError;
}

describe("signing keys (shared/keys.ts)", () => {
  let dir: string;
  let keystore: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "verdict-keys-"));
    keystore = path.join(dir, "operator.json");
    // A light scrypt cost keeps the test fast; real keystores use ethers' or geth's default.
    await writeFile(keystore, encryptKeystoreJsonSync({ address: ADDRESS, privateKey: KEY }, "s3cret", { scrypt: { N: 1024 } }));
    await writeFile(path.join(dir, "pw"), "s3cret\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("signerKey reads VERDICT_KEY for every role, and returns undefined when no key is set", async () => {
    for (const role of ["cli", "operator", "relayer"] as const) expect((await signerKey(role, { VERDICT_KEY: KEY }))!.address).to.equal(ADDRESS);
    expect(await signerKey("operator", {})).to.equal(undefined);
  });

  it("signerKey unlocks VERDICT_KEYSTORE with the password from VERDICT_KEYSTORE_PASSWORD_FILE (trailing newline dropped) or VERDICT_KEYSTORE_PASSWORD", async () => {
    expect((await signerKey("operator", { VERDICT_KEYSTORE: keystore, VERDICT_KEYSTORE_PASSWORD_FILE: path.join(dir, "pw") }))!.address).to.equal(ADDRESS);
    expect((await signerKey("relayer", { VERDICT_KEYSTORE: keystore, VERDICT_KEYSTORE_PASSWORD: "s3cret" }))!.privateKey).to.equal(KEY);
  });

  it("signerKey fails with BAD_KEYSTORE_PASSWORD, NO_KEYSTORE_PASSWORD, KEYSTORE_NOT_FOUND, AMBIGUOUS_KEY and BAD_KEY (never echoing the key)", async () => {
    expect((await failure(signerKey("operator", { VERDICT_KEYSTORE: keystore, VERDICT_KEYSTORE_PASSWORD: "wrong" }))).code).to.equal("BAD_KEYSTORE_PASSWORD");
    expect((await failure(signerKey("operator", { VERDICT_KEYSTORE: keystore }))).code).to.equal("NO_KEYSTORE_PASSWORD");
    expect((await failure(signerKey("operator", { VERDICT_KEYSTORE: path.join(dir, "missing.json"), VERDICT_KEYSTORE_PASSWORD: "x" }))).code).to.equal("KEYSTORE_NOT_FOUND");
    expect((await failure(signerKey("cli", { VERDICT_KEY: KEY, VERDICT_KEYSTORE: keystore }))).code).to.equal("AMBIGUOUS_KEY");
    const bad = await failure(signerKey("cli", { VERDICT_KEY: "0xsecretsecret" }));
    expect(bad.code).to.equal("BAD_KEY");
    expect(bad.message).to.not.include("secretsecret");
  });

  it("signerKey still honours VERDICT_PRIVATE_KEY (CLI), VERDICT_OPERATOR_KEY and VERDICT_RELAYER_KEY, each with a deprecation warning; VERDICT_KEY wins", async () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    for (const [role, name] of [["cli", "VERDICT_PRIVATE_KEY"], ["operator", "VERDICT_OPERATOR_KEY"], ["relayer", "VERDICT_RELAYER_KEY"]] as const) {
      expect((await signerKey(role, { [name]: KEY }, warn))!.address).to.equal(ADDRESS);
    }
    expect(warnings).to.deep.equal(["VERDICT_PRIVATE_KEY", "VERDICT_OPERATOR_KEY", "VERDICT_RELAYER_KEY"].map((n) => `${n} is deprecated: set VERDICT_KEY (or VERDICT_KEYSTORE) instead`));
    const other = Wallet.createRandom().privateKey;
    expect((await signerKey("operator", { VERDICT_KEY: KEY, VERDICT_OPERATOR_KEY: other }, warn))!.address).to.equal(ADDRESS);
    expect(await signerKey("operator", { VERDICT_RELAYER_KEY: KEY }, warn)).to.equal(undefined); // another role's old name
  });
});
