#!/usr/bin/env -S node --import tsx
// `verdict`: the command-line interface to Verdict.
import { Command } from "commander";
import { VerdictError } from "../shared/errors.js";
import { jobCommands } from "./commands/job.js";
import { modelCommands } from "./commands/model.js";

const program = new Command("verdict").description("Verifiable AI inference for Ethereum").showHelpAfterError();
modelCommands(program);
jobCommands(program);

try {
  await program.parseAsync();
} catch (e) {
  const err = e instanceof VerdictError ? e : new VerdictError("UNEXPECTED", e instanceof Error ? e.stack ?? e.message : String(e));
  console.error(`\x1b[31merror\x1b[0m [${err.code}] ${err.message}`);
  process.exitCode = 1;
}
