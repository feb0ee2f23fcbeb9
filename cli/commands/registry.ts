// `verdict model list | show <id> | deprecate <id>`: reading and governing the on-chain ModelRegistry. They join
// the `model` group that cli/commands/model.ts creates (for `model build`), so register them after it.
import type { Command } from "commander";
import { enumName, MODEL_STATUSES } from "../../shared/enums.js";
import { VerdictError } from "../../shared/errors.js";
import type { ModelRegistry } from "../../types/ethers-contracts/index.js";
import { chainOpts, parseId, print, printTable, sent, withVerdict, type ChainOptions } from "./common.js";

const VERIFIER_KIND = ["Single", "Reusable"] as const;

type Version = Awaited<ReturnType<ModelRegistry["model"]>>;

/** The summary row of a version, as `list` shows it. */
function summary(id: bigint, v: Version): Record<string, unknown> {
  return {
    id,
    status: enumName(MODEL_STATUSES, v.status),
    verifierKind: VERIFIER_KIND[Number(v.verifierKind)],
    verifier: v.verifier,
    inputs: v.inputCount,
    outputs: v.outputCount,
    uri: v.uri,
  };
}

export function registryCommands(program: Command): void {
  const model = program.commands.find((c) => c.name() === "model");
  if (!model) throw new VerdictError("CLI_SETUP", "registryCommands needs the `model` group: call modelCommands(program) first");
  model.addHelpText("after", "\nExamples:\n  verdict model build models/wine-classifier\n  verdict model list\n  verdict model show 1 --json");

  chainOpts(model.command("list").description("every registered model version: id, status, verifier, layout, URI").addHelpText("after", "\nExample:\n  verdict model list --json")).action(
    async (o: ChainOptions) => {
      await withVerdict(o, async ({ registry }) => {
        const count = await registry.modelCount();
        const ids = Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1)); // ids start at 1
        const versions = await Promise.all(ids.map((id) => registry.model(id)));
        printTable(o, versions.map((v, i) => summary(ids[i]!, v)));
      });
    },
  );

  chainOpts(model.command("show").description("one model version in full: layout, scales, hashes, verifier").argument("<id>", "model id").addHelpText("after", "\nExample:\n  verdict model show 1")).action(
    async (id: string, o: ChainOptions) => {
      const modelId = parseId(id, "model id");
      await withVerdict(o, async ({ registry }) => {
        const v = await registry.model(modelId);
        print(o, { ...summary(modelId, v), inputScale: v.inputScale, outputScale: v.outputScale, onnxHash: v.onnxHash, circuitHash: v.circuitHash, vkHash: v.vkHash });
      });
    },
  );

  chainOpts(
    model
      .command("deprecate")
      .description("deprecate a model version for good: no new jobs; jobs already created still settle (MODEL_ADMIN_ROLE only)")
      .argument("<id>", "model id")
      .addHelpText("after", "\nExample:\n  verdict model deprecate 1\nSigning key: VERDICT_KEY or VERDICT_KEYSTORE (must hold MODEL_ADMIN_ROLE on the registry)."),
  ).action(async (id: string, o: ChainOptions) => {
    const modelId = parseId(id, "model id");
    await withVerdict(o, async ({ registry }) => {
      const { receipt } = await sent(registry.deprecate(modelId), registry.interface);
      print(o, { model: modelId, status: enumName(MODEL_STATUSES, (await registry.model(modelId)).status), tx: receipt.hash });
    });
  });
}
