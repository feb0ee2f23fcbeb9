// `verdict job ...` (requesters), `verdict verify <jobId>` (anyone, CPU only) and `verdict withdraw`: post jobs,
// follow them, read verified results, refund or slash them, re-check a settled job's proof from the chain alone,
// and collect what the market owes. The chain side is the SDK's (sdk/client.ts); this file parses and prints.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { formatUnits, getAddress, isAddress, parseUnits, ZeroAddress } from "ethers";
import { z } from "zod";
import type { JobInfo } from "../../sdk/client.js";
import { VerdictError } from "../../shared/errors.js";
import { DemoToken__factory, type ModelRegistry } from "../../types/ethers-contracts/index.js";
import { verifyNative } from "../../zk/runtime/prover.js";
import { pullModel } from "../../zk/runtime/bundle.js";
import { chainOpts, EXIT, EXIT_HELP, homeOpt, isoTime, parseId, parsePositive, parseTokens, print, printTable, tokens, withVerdict, type ChainOptions, type Verdict } from "./common.js";

export async function parseInput(raw: string): Promise<number[]> {
  const text = existsSync(raw) ? await readFile(raw, "utf8") : raw;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VerdictError("BAD_INPUT", `--input is neither a file nor JSON: '${raw.slice(0, 40)}'`);
  }
  const parsed = z.union([z.array(z.number()), z.object({ input_data: z.array(z.array(z.number())).length(1) })]).safeParse(json);
  if (!parsed.success) throw new VerdictError("BAD_INPUT", "--input must be a JSON array of numbers (inline or a file), or ezkl input JSON with one row");
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.input_data[0]!;
}

/** `--token`: "eth" (or absent) for ETH, else an ERC20 address. */
function parseToken(raw: string | undefined): string {
  if (raw === undefined || raw.toLowerCase() === "eth") return ZeroAddress;
  if (!isAddress(raw)) throw new VerdictError("BAD_ARGUMENT", `--token must be "eth" or an ERC20 address, got '${raw}'`);
  return getAddress(raw);
}

/** A price in whole units of the payment token (ETH, or the ERC20's own decimals) as base units. */
async function parsePrice(v: Verdict, raw: string, token: string): Promise<{ amount: bigint; unit: string; decimals: number }> {
  const erc20 = token === ZeroAddress ? undefined : DemoToken__factory.connect(token, v.chain.provider);
  const [decimals, unit] = erc20 ? await Promise.all([erc20.decimals().then(Number), erc20.symbol()]) : [18, "ETH"];
  let amount: bigint;
  try {
    amount = parseUnits(raw, decimals);
  } catch {
    throw new VerdictError("BAD_AMOUNT", `--price '${raw}' is not an amount of ${unit}`, "give a decimal number, e.g. 0.002");
  }
  if (amount <= 0n) throw new VerdictError("BAD_AMOUNT", `--price must be positive, got '${raw}'`);
  return { amount, unit, decimals };
}

/** A job as `status` and `list` show it (times as ISO, addresses "-" when unset). */
function jobRow(j: JobInfo): Record<string, unknown> {
  return {
    jobId: j.jobId,
    status: j.status,
    model: j.modelId,
    requester: j.requester,
    operator: j.operator === ZeroAddress ? "-" : j.operator,
    token: j.token === ZeroAddress ? "ETH" : j.token,
    price: j.price,
    lockDeadline: isoTime(j.lockDeadline),
    deadline: isoTime(j.deadline),
  };
}

const jobArg = (c: Command) => c.argument("<jobId>", "on-chain job id");

export function jobCommands(program: Command): void {
  const job = program
    .command("job")
    .description("post inference jobs, follow them, read their verified results, refund or slash them")
    .addHelpText("after", `\nExamples:\n  verdict job create --model 1 --input '[0.1, -0.3, 1.2]' --price 0.002\n  verdict job wait 4 && verdict job result 4\nSigning key: VERDICT_KEY or VERDICT_KEYSTORE (see README, Keys).${EXIT_HELP}`);

  chainOpts(
    job
      .command("create")
      .description("post a job: escrows the price now (ETH, or an allowed ERC20 approved to the market first)")
      .requiredOption("--model <id>", "registered model id")
      .requiredOption("--input <json|file>", "input row of floats: inline JSON array, or a file (JSON array or ezkl input JSON)")
      .option("--price <amount>", "price in whole units of the payment token (ETH unless --token), escrowed at creation", "0.001")
      .option("--token <address>", "pay in this allow-listed ERC20 instead of ETH (approved first when the allowance is short)")
      .option("--collateral <tokens>", "operator collateral, in stake tokens", "1")
      .option("--lock-timeout <seconds>", "seconds an operator has to lock the job", "600")
      .option("--timeout <seconds>", "seconds until the job's deadline", "1800")
      .option("--callback <address>", "contract told of the result (IInferenceConsumer)")
      .option("--callback-gas <gas>", "gas limit of the callback", "200000")
      .option("--no-range-check", "post without checking the input against what the model's circuit can take (operators skip a job they cannot prove; it becomes refundable after its lock deadline)")
      .addHelpText("after", "\nExamples:\n  verdict job create --model 1 --input '[0.1, -0.3, 1.2, ...]' --price 0.002\n  verdict job create --model 1 --input row.json --token 0x5FbDB2315678afecb367f032d93F642f64180aa3 --price 5"),
  ).action(async (o: ChainOptions & { model: string; input: string; price: string; token?: string; collateral: string; lockTimeout: string; timeout: string; callback?: string; callbackGas: string; rangeCheck: boolean }) => {
    const modelId = parseId(o.model, "--model");
    const token = parseToken(o.token);
    const lockTimeout = parsePositive(o.lockTimeout, "--lock-timeout");
    const timeout = parsePositive(o.timeout, "--timeout");
    const callbackGasLimit = parsePositive(o.callbackGas, "--callback-gas");
    if (o.callback !== undefined && !isAddress(o.callback)) throw new VerdictError("BAD_ARGUMENT", `--callback must be an address, got '${o.callback}'`);
    const values = await parseInput(o.input);
    await withVerdict(o, async (v) => {
      const price = await parsePrice(v, o.price, token);
      const created = await v.client.createJob({
        modelId,
        input: values,
        token,
        price: price.amount,
        collateral: parseTokens(o.collateral, "--collateral"),
        lockTimeout,
        timeout,
        callback: o.callback,
        callbackGasLimit,
        checkRange: o.rangeCheck,
        onWarning: (message) => console.error(`warning: ${message}`),
      });
      print(o, { jobId: created.jobId, model: modelId, price: `${formatUnits(price.amount, price.decimals)} ${price.unit} (escrowed)`, deadline: isoTime(created.deadline), tx: created.txHash });
    });
  });

  chainOpts(jobArg(job.command("status").description("a job's state")).addHelpText("after", "\nExample:\n  verdict job status 4 --json")).action(async (id: string, o: ChainOptions) => {
    const jobId = parseId(id, "job id");
    await withVerdict(o, async ({ client }) => print(o, jobRow(await client.job(jobId))));
  });

  chainOpts(
    jobArg(job.command("wait").description("wait until the job is final; the exit code says how it ended (0 Fulfilled, 3 Slashed, 4 Refunded, 124 timed out)"))
      .option("--timeout <seconds>", "give up after (default: until the job's deadline plus 120 s, by the chain's clock)")
      .addHelpText("after", `\nExample:\n  verdict job wait 4 && verdict job result 4${EXIT_HELP}`),
  ).action(async (id: string, o: ChainOptions & { timeout?: string }) => {
    const jobId = parseId(id, "job id");
    const timeoutMs = o.timeout === undefined ? undefined : parsePositive(o.timeout, "--timeout") * 1000;
    await withVerdict(o, async ({ client }) => {
      const final = await client.waitForFinal(jobId, { timeoutMs });
      print(o, { jobId, status: final.status });
      process.exitCode = final.status === "Slashed" ? EXIT.SLASHED : final.status === "Refunded" ? EXIT.REFUNDED : EXIT.OK;
    });
  });

  chainOpts(jobArg(job.command("result").description("the verified outputs and proof facts of a fulfilled job")).addHelpText("after", "\nExample:\n  verdict job result 4 --json")).action(async (id: string, o: ChainOptions) => {
    const jobId = parseId(id, "job id");
    await withVerdict(o, async ({ client }) => {
      const r = await client.result(jobId);
      const f = await client.fulfilment(jobId);
      print(o, { jobId, outputs: r.outputs, rawOutputs: r.raw, scale: r.scale, finalizedAt: isoTime(r.finalizedAt), proofBytes: (f.proof.length - 2) / 2, fulfilTx: f.tx.hash, fulfilGas: f.gasUsed });
    });
  });

  chainOpts(
    jobArg(job.command("refund").description("refund a job nobody locked before its lock deadline (anyone may call; the requester is credited: `verdict withdraw`)")).addHelpText(
      "after",
      "\nExample:\n  verdict job refund 4",
    ),
  ).action(async (id: string, o: ChainOptions) => {
    const jobId = parseId(id, "job id");
    await withVerdict(o, async ({ client }) => {
      const r = await client.refund(jobId);
      print(o, { jobId, status: "Refunded", refunded: r.amount, tx: r.txHash });
    });
  });

  chainOpts(
    jobArg(job.command("slash").description("slash a locked job past its deadline (anyone may call): refunds the requester and slashes the operator's collateral")).addHelpText(
      "after",
      "\nExample:\n  verdict job slash 4",
    ),
  ).action(async (id: string, o: ChainOptions) => {
    const jobId = parseId(id, "job id");
    await withVerdict(o, async ({ client }) => {
      const r = await client.slash(jobId);
      print(o, { jobId, status: "Slashed", operator: r.operator, collateral: tokens(r.collateral), requesterRefund: r.refund, tx: r.txHash });
    });
  });

  chainOpts(
    job
      .command("list")
      .description("jobs created in a block range (default: the last 50,000 blocks), read in bounded eth_getLogs windows")
      .option("--mine", "only jobs the signer created")
      .option("--requester <address>", "only jobs this address created")
      .option("--model <id>", "only jobs of this model")
      .option("--from-block <n>", "first block searched")
      .option("--to-block <n>", "last block searched (default: the head)")
      .addHelpText("after", "\nExample:\n  verdict job list --mine --json"),
  ).action(async (o: ChainOptions & { mine?: boolean; requester?: string; model?: string; fromBlock?: string; toBlock?: string }) => {
    if (o.requester !== undefined && !isAddress(o.requester)) throw new VerdictError("BAD_ARGUMENT", `--requester must be an address, got '${o.requester}'`);
    if (o.mine && o.requester) throw new VerdictError("BAD_ARGUMENT", "give --mine or --requester, not both");
    const modelId = o.model === undefined ? undefined : Number(parseId(o.model, "--model"));
    const fromBlock = o.fromBlock === undefined ? undefined : Number(parseId(o.fromBlock, "--from-block"));
    const toBlock = o.toBlock === undefined ? undefined : Number(parseId(o.toBlock, "--to-block"));
    await withVerdict(o, async ({ client }) => {
      const requester = o.mine ? await client.address() : o.requester;
      const jobs = await client.jobs({ requester, modelId, fromBlock, toBlock });
      printTable(o, jobs.map(jobRow));
    });
  });

  chainOpts(
    homeOpt(
      program
        .command("verify")
        .description("re-verify a settled job's proof with no GPU and no project state: eth_call against the registered verifier, and natively with ezkl using the model's bundle (pulled from its registry URI and hash-checked)")
        .argument("<jobId>")
        .option("--from <base>", "fetch the model's bundle from this base URL or bundles folder instead of the registry URI's")
        .addHelpText("after", `\nExample:\n  verdict verify 4 --json${EXIT_HELP}`),
    ),
  ).action(async (id: string, o: ChainOptions & { home: string; from?: string }) => {
    const jobId = parseId(id, "job id");
    await withVerdict(o, async ({ client, registry }) => {
      const job = await client.job(jobId);
      const rss0 = process.memoryUsage().rss;
      // Only a revert means INVALID: an RPC failure is an error (exit 1), never a verdict on the proof.
      const onChain = await client.verify(jobId);
      const f = onChain.fulfilment;
      const result: Record<string, unknown> = { jobId, model: job.modelId, verifier: onChain.verifier, fulfilTx: f.tx.hash, ethCall: onChain.valid ? "valid" : "INVALID", ethCallSeconds: onChain.seconds.toFixed(3), ethCallRssDeltaMb: ((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(1) };
      const native = await nativeVerify(registry, BigInt(job.modelId), o, f.proof, f.instances);
      Object.assign(result, native);
      print(o, result);
      if (!onChain.valid || native.native === "INVALID") process.exitCode = EXIT.INVALID_PROOF;
    });
  });

  chainOpts(
    program
      .command("withdraw")
      .description("pay out what you are owed: market balances (job refunds, operator earnings) in ETH and ERC20 tokens, and slash compensation in the stake token")
      .option("--token <address...>", "only these market tokens (\"eth\" for ETH); default ETH and the deployment's token, plus slash compensation")
      .addHelpText("after", "\nExamples:\n  verdict withdraw\n  verdict withdraw --token eth --json"),
  ).action(async (o: ChainOptions & { token?: string[] }) => {
    const chosen = o.token?.map(parseToken);
    await withVerdict(o, async ({ client, addresses }) => {
      const wanted = chosen ?? [ZeroAddress, ...(addresses.token ? [addresses.token] : [])];
      const owed = (await client.balances(wanted)).filter((b) => b.amount > 0n);
      // A slashed job's requester is also owed part of the operator's collateral, held by OperatorStaking.
      const compensation = chosen ? 0n : await client.slashCredit();
      if (owed.length === 0 && compensation === 0n) throw new VerdictError("NOTHING_TO_WITHDRAW", `${await client.address()} is owed nothing in ${wanted.map((t) => (t === ZeroAddress ? "ETH" : t)).join(", ")}${chosen ? "" : " or slash compensation"}`);
      const paid: Record<string, unknown>[] = [];
      for (const b of owed) {
        const p = await client.withdraw(b.token);
        paid.push({ from: "market", token: p.token === ZeroAddress ? "ETH" : p.token, amount: p.amount, tx: p.txHash });
      }
      if (compensation > 0n) {
        const p = await client.claimSlashed();
        paid.push({ from: "staking (slash compensation)", token: p.token, amount: p.amount, tx: p.txHash });
      }
      printTable(o, paid);
    });
  });
}

/** Native ezkl verification with the verifying key and SRS of the model's registered bundle (never built here). */
async function nativeVerify(registry: ModelRegistry, modelId: bigint, o: { home: string; from?: string }, proof: string, instances: bigint[]): Promise<Record<string, string>> {
  let circuit;
  try {
    ({ circuit } = await pullModel(registry, modelId, o.home, o.from));
  } catch (e) {
    return { native: `skipped (${(e as Error).message.split("\n")[0]})` };
  }
  try {
    const r = await verifyNative(circuit, proof, instances);
    return { native: r.verified ? "valid" : "INVALID", nativeSeconds: r.timings.verify?.toFixed(3) ?? "", nativeMaxRssMb: r.maxRssMb.toFixed(1) };
  } catch (e) {
    return { native: `error: ${(e as Error).message.split("\n")[0]}` };
  }
}
