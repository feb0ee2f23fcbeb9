// `verdict market ...`: binary prediction markets (PredictionMarket) settled by a verified inference: create
// (committing to the input provider and the job's terms), bet, post-input (the provider, after betting), repost a
// failed job, cancel, resolve, claim, show.
import type { Command } from "commander";
import { formatEther, parseEther } from "ethers";
import { enumName, MARKET_OUTCOMES } from "../../shared/enums.js";
import { VerdictError } from "../../shared/errors.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { parseInput } from "./job.js";
import { chainNow, chainOpts, ensureAllowance, isoTime, parseId, parseTokens, print, sent, tokens, withVerdict, type ChainOptions, type Verdict } from "./common.js";


interface CreateOptions extends ChainOptions {
  model: string;
  output: string;
  threshold: string;
  bettingEnds: string;
  question: string;
  provider: string;
  inputWindow: string;
  jobPrice: string;
  jobCollateral: string;
  lockTimeout: string;
  timeout: string;
}

/** The market's outputs are fixed-point at the model's registered output scale: raw = round(v * 2^scale). */
async function outputScale(v: Verdict, modelId: bigint): Promise<number> {
  return Number((await v.registry.model(modelId)).outputScale);
}

export function marketCommands(program: Command): void {
  const market = program
    .command("market")
    .description("prediction markets settled by a verified inference: \"will output[i] of model M be >= threshold?\"")
    .addHelpText(
      "after",
      `
Examples:
  verdict market create --model 2 --output 0 --threshold 150 --betting-ends 3600 --provider 0xFeed... --question "Progression >= 150?"
  verdict market bet 1 yes 10
  verdict market show 1 --json
Signing key: VERDICT_PRIVATE_KEY.`,
    );

  chainOpts(
    market
      .command("create")
      .description("open a market on output <index> of a model being >= <threshold>")
      .requiredOption("--model <id>", "registered, active model id")
      .requiredOption("--output <index>", "index of the model output the market is about")
      .requiredOption("--threshold <value>", "threshold as a float, e.g. 0.5 (converted at the model's output scale)")
      .requiredOption("--betting-ends <seconds>", "seconds from now (chain time) until betting closes")
      .requiredOption("--question <text>", "the question, as bettors will read it (stored in the MarketCreated event)")
      .requiredOption("--provider <address>", "the only account that may publish the input, after betting ends (an oracle that does not bet)")
      .option("--input-window <seconds>", "seconds after betting ends the provider has to publish, else the market can be cancelled", "1800")
      .option("--job-price <eth>", "the market job's price in ETH, escrowed now", "0.001")
      .option("--job-collateral <tokens>", "the collateral an operator must lock for the market's job", "1")
      .option("--lock-timeout <seconds>", "the market job's lock timeout", "600")
      .option("--timeout <seconds>", "the market job's deadline", "1800")
      .addHelpText("after", '\nExample:\n  verdict market create --model 1 --output 0 --threshold 0.5 --betting-ends 600 --provider 0xFeed... --question "Is wine #7 class 0?"'),
  ).action(async (o: CreateOptions) => {
    const modelId = parseId(o.model, "--model");
    const output = Number(parseId(o.output, "--output"));
    const seconds = parseId(o.bettingEnds, "--betting-ends");
    const threshold = Number(o.threshold);
    if (!Number.isFinite(threshold)) throw new VerdictError("BAD_THRESHOLD", `--threshold '${o.threshold}' is not a number`);
    await withVerdict(o, async (v) => {
      const scale = await outputScale(v, modelId);
      const raw = BigInt(Math.round(threshold * 2 ** scale));
      const bettingEnds = (await chainNow(v)) + seconds;
      const params = {
        modelId,
        outputIndex: output,
        threshold: raw,
        bettingEnds,
        provider: o.provider,
        inputWindow: BigInt(o.inputWindow),
        jobPrice: parseEther(o.jobPrice),
        jobCollateral: parseEther(o.jobCollateral),
        lockTimeout: BigInt(o.lockTimeout),
        timeout: BigInt(o.timeout),
      };
      const { receipt, event } = await sent(v.prediction.createMarket(params, o.question, { value: params.jobPrice }), v.prediction.interface, "MarketCreated");
      print(o, { marketId: event!.args.marketId as bigint, model: modelId, output, threshold: Number(raw) / 2 ** scale, rawThreshold: raw, bettingEnds: isoTime(bettingEnds), question: o.question, tx: receipt.hash });
    });
  });

  chainOpts(
    market
      .command("bet")
      .description("approve the market's token and stake <amount> on yes or no while betting is open")
      .argument("<id>", "market id")
      .argument("<side>", "yes or no")
      .argument("<amount>", "tokens, e.g. 10")
      .addHelpText("after", "\nExample:\n  verdict market bet 1 no 2.5"),
  ).action(async (id: string, side: string, amount: string, o: ChainOptions) => {
    const marketId = parseId(id, "market id");
    if (side !== "yes" && side !== "no") throw new VerdictError("BAD_SIDE", `side must be 'yes' or 'no', got '${side}'`);
    const value = parseTokens(amount);
    await withVerdict(o, async (v) => {
      await ensureAllowance(v, await v.prediction.token(), v.addresses.predictionMarket, value);
      const { receipt } = await sent(v.prediction.bet(marketId, side === "yes", value), v.prediction.interface);
      const m = await v.prediction.marketOf(marketId);
      print(o, { marketId, side, amount: tokens(value), yesPool: tokens(m.yesPool), noPool: tokens(m.noPool), tx: receipt.hash });
    });
  });

  chainOpts(
    market
      .command("post-input")
      .description("publish the market's input (its named provider only, after betting closed); the market posts its own job on it")
      .argument("<id>", "market id")
      .requiredOption("--input <json|file>", "input row: inline JSON array, or a file (JSON array or ezkl input JSON)")
      .addHelpText("after", "\nExample:\n  verdict market post-input 1 --input '[0.1, -0.3, 1.2, ...]'"),
  ).action(async (id: string, o: ChainOptions & { input: string }) => {
    const marketId = parseId(id, "market id");
    const values = await parseInput(o.input);
    await withVerdict(o, async (v) => {
      const m = await v.prediction.marketOf(marketId);
      const scale = Number((await v.registry.model(m.modelId)).inputScale);
      const input = values.map((x) => floatToFelt(x, scale));
      const { receipt } = await sent(v.prediction.postInput(marketId, input), v.prediction.interface);
      print(o, { marketId, jobId: (await v.prediction.marketOf(marketId)).jobId, tx: receipt.hash });
    });
  });

  for (const [name, description] of [
    ["repost", "re-post the market's job, same input and terms, after it ended slashed or refunded (anyone may call)"],
    ["cancel", "cancel a market that can no longer settle (no input in its window, or its job failed MAX_REPOSTS times)"],
  ] as const) {
    chainOpts(market.command(name).description(description).argument("<id>", "market id")).action(async (id: string, o: ChainOptions) => {
      const marketId = parseId(id, "market id");
      await withVerdict(o, async (v) => {
        const { receipt } = await sent(name === "repost" ? v.prediction.repost(marketId) : v.prediction.cancel(marketId), v.prediction.interface);
        print(o, { marketId, jobId: (await v.prediction.marketOf(marketId)).jobId, tx: receipt.hash });
      });
    });
  }

  chainOpts(
    market.command("resolve").description("settle the market from its job's verified result (anyone may call)").argument("<id>", "market id").addHelpText("after", "\nExample:\n  verdict market resolve 1"),
  ).action(async (id: string, o: ChainOptions) => {
    const marketId = parseId(id, "market id");
    await withVerdict(o, async (v) => {
      const { receipt, event } = await sent(v.prediction.resolve(marketId), v.prediction.interface, "MarketResolved");
      const scale = await outputScale(v, (await v.prediction.marketOf(marketId)).modelId);
      const output = event!.args.output as bigint;
      print(o, { marketId, outcome: enumName(MARKET_OUTCOMES, event!.args.outcome), output: Number(output) / 2 ** scale, rawOutput: output, tx: receipt.hash });
    });
  });

  chainOpts(market.command("claim").description("collect your winnings (or refund, if cancelled)").argument("<id>", "market id").addHelpText("after", "\nExample:\n  verdict market claim 1")).action(
    async (id: string, o: ChainOptions) => {
      const marketId = parseId(id, "market id");
      await withVerdict(o, async (v) => {
        const { receipt, event } = await sent(v.prediction.claim(marketId), v.prediction.interface, "Claimed");
        print(o, { marketId, claimed: tokens(event!.args.amount as bigint), tx: receipt.hash });
      });
    },
  );

  chainOpts(market.command("show").description("a market: question, outcome, pools, betting end, job and threshold").argument("<id>", "market id").addHelpText("after", "\nExample:\n  verdict market show 1 --json")).action(
    async (id: string, o: ChainOptions) => {
      const marketId = parseId(id, "market id");
      await withVerdict(o, async (v) => {
        const m = await v.prediction.marketOf(marketId);
        // The question is not in storage (only its event carries it).
        const [created] = await v.prediction.queryFilter(v.prediction.filters.MarketCreated(marketId));
        const scale = await outputScale(v, m.modelId);
        print(o, {
          marketId,
          question: created?.args.question ?? "(MarketCreated event not found)",
          creator: m.creator,
          model: m.modelId,
          output: m.outputIndex,
          threshold: Number(m.threshold) / 2 ** scale,
          rawThreshold: m.threshold,
          outcome: enumName(MARKET_OUTCOMES, m.outcome),
          bettingEnds: isoTime(m.bettingEnds),
          bettingOpen: (await chainNow(v)) < m.bettingEnds,
          yesPool: tokens(m.yesPool),
          noPool: tokens(m.noPool),
          job: m.jobId === 0n ? "-" : m.jobId,
          provider: m.provider,
          inputDeadline: isoTime(m.inputDeadline),
          jobPrice: `${formatEther(m.jobPrice)} ETH`,
          jobCollateral: tokens(m.jobCollateral),
          reposts: Number(m.reposts),
        });
      });
    },
  );
}
