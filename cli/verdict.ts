#!/usr/bin/env -S node --import tsx
// `verdict`: the command-line interface to Verdict.
import { Command } from "commander";
import { Interface } from "ethers";
import { VerdictError } from "../shared/errors.js";
import { describeRevert } from "../shared/rpcErrors.js";
import { InferenceMarket__factory, ModelRegistry__factory, OperatorStaking__factory, PredictionMarket__factory } from "../types/ethers-contracts/index.js";
import { EXIT, EXIT_HELP } from "./commands/common.js";
import { configCommands } from "./commands/config.js";
import { jobCommands } from "./commands/job.js";
import { marketCommands } from "./commands/market.js";
import { modelCommands } from "./commands/model.js";
import { operatorCommands } from "./commands/operator.js";
import { pipelineCommands } from "./commands/pipeline.js";
import { registryCommands } from "./commands/registry.js";

const program = new Command("verdict").description("Verifiable AI inference for Ethereum").showHelpAfterError().addHelpText("after", EXIT_HELP);
modelCommands(program);
registryCommands(program); // adds list/show/deprecate to the `model` group: after modelCommands
jobCommands(program);
operatorCommands(program);
marketCommands(program);
pipelineCommands(program); // adds `operator jobs` and `relayer dlq`: after operatorCommands
configCommands(program);

try {
  await program.parseAsync();
} catch (e) {
  // A contract revert is shown as its decoded custom error, e.g. JobNotInStatus(4, 3, 1).
  const errors = new Interface(
    [InferenceMarket__factory, ModelRegistry__factory, OperatorStaking__factory, PredictionMarket__factory]
      .flatMap((f) => f.abi.filter((x) => x.type === "error"))
      .filter((x, i, all) => all.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) === i),
  );
  const revert = describeRevert(e, errors);
  const err =
    e instanceof VerdictError
      ? e
      : revert !== "no revert reason"
        ? new VerdictError("REVERTED", `the contract refused: ${revert}`, "check the arguments against the error (see contracts/interfaces)")
        : new VerdictError("UNEXPECTED", e instanceof Error ? e.stack ?? e.message : String(e));
  console.error(`${process.env.NO_COLOR ? "error" : "\x1b[31merror\x1b[0m"} [${err.code}] ${err.message}`);
  process.exitCode = err.code === "TIMEOUT" ? EXIT.TIMEOUT : EXIT.ERROR;
}
