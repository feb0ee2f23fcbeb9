// `verdict config check`: the configuration the operator and relayer would run with (file, then VERDICT_*
// environment overrides, then defaults), validated by the same schema, with every secret redacted.
import type { Command } from "commander";
import { loadConfig } from "../../shared/config.js";
import { DEPRECATED_KEY_VARIABLES, hasKey } from "../../shared/keys.js";

const REDACTED = "(set, redacted)";

/** A copy of `value` with every field named like a secret (key, password, token in a URL) redacted. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value.replace(/\/\/([^:/@]*):([^@/]+)@/, "//$1:***@"); // a password in a Redis or RPC URL
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /key|password|secret/i.test(k) ? (v === undefined ? undefined : REDACTED) : redact(v)]));
  }
  return value;
}

export function configCommands(program: Command): void {
  const config = program.command("config").description("the services' configuration");
  config
    .command("check")
    .description("validate and print the effective configuration of the operator and relayer (file + VERDICT_* overrides + defaults), secrets redacted; exits 1 naming each bad field")
    .option("--config <file>", "JSON config file (default VERDICT_CONFIG)")
    .addHelpText("after", "\nExample:\n  VERDICT_RPC_URL=https://rpc.example verdict config check --config operator.json")
    .action((o: { config?: string }) => {
      const effective = loadConfig(o.config);
      const keys = Object.fromEntries(
        (["operator", "relayer"] as const).map((role) => [role, process.env.VERDICT_KEYSTORE ? `keystore ${process.env.VERDICT_KEYSTORE}` : hasKey(role) ? REDACTED : "(not set: the node's account 0, local chains only)"]),
      );
      const deprecated = Object.values(DEPRECATED_KEY_VARIABLES).filter((name) => process.env[name]);
      console.log(JSON.stringify({ ...(redact(effective) as object), signingKey: keys, ...(deprecated.length ? { deprecatedVariables: deprecated.map((n) => `${n}: use VERDICT_KEY`) } : {}) }, null, 2));
    });
}
