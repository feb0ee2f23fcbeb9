// The signing key of a process, under one naming scheme for the CLI, the operator and the relayer:
//   VERDICT_KEY                      raw 0x-prefixed 32-byte hex key, or
//   VERDICT_KEYSTORE                 an encrypted JSON keystore file (geth / ethers format), unlocked with
//   VERDICT_KEYSTORE_PASSWORD_FILE   a file holding the password (preferred: not in the process environment), or
//   VERDICT_KEYSTORE_PASSWORD        the password itself.
// Each process runs with its own environment, so one name is enough. The names used before (VERDICT_PRIVATE_KEY
// for the CLI, VERDICT_OPERATOR_KEY for the operator, VERDICT_RELAYER_KEY for the relayer) still work, with a
// deprecation warning. Keys are never logged.
import { existsSync, readFileSync } from "node:fs";
import { Wallet, type HDNodeWallet } from "ethers";
import { VerdictError } from "./errors.js";

export type KeyRole = "cli" | "operator" | "relayer";

/** The variable each program read before the one naming scheme; still honoured, with a warning. */
export const DEPRECATED_KEY_VARIABLES: Record<KeyRole, string> = { cli: "VERDICT_PRIVATE_KEY", operator: "VERDICT_OPERATOR_KEY", relayer: "VERDICT_RELAYER_KEY" };

const RAW_KEY = /^0x[0-9a-fA-F]{64}$/;

function rawKey(value: string, name: string): Wallet {
  if (!RAW_KEY.test(value.trim())) throw new VerdictError("BAD_KEY", `${name} is not a 0x-prefixed 32-byte hex private key`, "or use VERDICT_KEYSTORE with an encrypted JSON keystore");
  return new Wallet(value.trim());
}

/** The keystore's password: from VERDICT_KEYSTORE_PASSWORD_FILE (trailing newline dropped), else VERDICT_KEYSTORE_PASSWORD. */
function keystorePassword(env: NodeJS.ProcessEnv): string {
  const file = env.VERDICT_KEYSTORE_PASSWORD_FILE;
  if (file) {
    if (!existsSync(file)) throw new VerdictError("KEYSTORE_PASSWORD_NOT_FOUND", `VERDICT_KEYSTORE_PASSWORD_FILE ${file} does not exist`);
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  }
  if (env.VERDICT_KEYSTORE_PASSWORD !== undefined) return env.VERDICT_KEYSTORE_PASSWORD;
  throw new VerdictError("NO_KEYSTORE_PASSWORD", "VERDICT_KEYSTORE is set but no password is", "set VERDICT_KEYSTORE_PASSWORD_FILE to a file holding it (or VERDICT_KEYSTORE_PASSWORD)");
}

/**
 * The wallet this process signs with (not connected to a provider), or undefined when no key is configured
 * (local development chains then sign with the node's account 0). `warn` receives the deprecation notice.
 */
export async function signerKey(role: KeyRole, env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = (m) => console.error(`warning: ${m}`)): Promise<Wallet | HDNodeWallet | undefined> {
  if (env.VERDICT_KEY && env.VERDICT_KEYSTORE) throw new VerdictError("AMBIGUOUS_KEY", "both VERDICT_KEY and VERDICT_KEYSTORE are set", "keep one of them");
  if (env.VERDICT_KEY) return rawKey(env.VERDICT_KEY, "VERDICT_KEY");
  if (env.VERDICT_KEYSTORE) {
    const file = env.VERDICT_KEYSTORE;
    if (!existsSync(file)) throw new VerdictError("KEYSTORE_NOT_FOUND", `VERDICT_KEYSTORE ${file} does not exist`);
    const password = keystorePassword(env);
    try {
      return await Wallet.fromEncryptedJson(readFileSync(file, "utf8"), password);
    } catch (e) {
      const wrong = /password/i.test((e as Error).message);
      throw new VerdictError(wrong ? "BAD_KEYSTORE_PASSWORD" : "BAD_KEYSTORE", `cannot unlock ${file}: ${wrong ? "wrong password" : (e as Error).message.split("\n")[0]}`);
    }
  }
  const legacy = DEPRECATED_KEY_VARIABLES[role];
  if (env[legacy]) {
    warn(`${legacy} is deprecated: set VERDICT_KEY (or VERDICT_KEYSTORE) instead`);
    return rawKey(env[legacy]!, legacy);
  }
  return undefined;
}

/** Whether any key variable is set for `role` (without decrypting anything). */
export function hasKey(role: KeyRole, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.VERDICT_KEY || env.VERDICT_KEYSTORE || env[DEPRECATED_KEY_VARIABLES[role]]);
}
