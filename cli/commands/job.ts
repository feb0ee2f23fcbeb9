// `verdict job ...` (requesters) and `verdict verify <jobId>` (anyone, CPU only): post jobs, follow them, read
// verified results, and re-check a settled job's proof from the chain alone.
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { formatEther, parseEther, ZeroAddress, type TransactionResponse } from "ethers";
import { z } from "zod";
import { JobStatus } from "../../operator/status.js";
import { VerdictError } from "../../shared/errors.js";
import { isRevert } from "../../shared/rpcErrors.js";
import { IHalo2Verifier__factory, type InferenceMarket, type ModelRegistry } from "../../types/ethers-contracts/index.js";
import { runBridge, timingsSchema } from "../../zk/bridge.js";
import { pullModel } from "../../zk/bundle.js";
import { floatToFelt } from "../../zk/felt.js";
import { chainOpts, homeOpt, print, sent, withVerdict, type ChainOptions } from "./common.js";

const STATUS = Object.fromEntries(Object.entries(JobStatus).map(([k, v]) => [v, k]));

export async function parseInput(raw: string): Promise<number[]> {
  const text = existsSync(raw) ? await readFile(raw, "utf8") : raw;
  const parsed = z.union([z.array(z.number()), z.object({ input_data: z.array(z.array(z.number())).length(1) })]).safeParse(JSON.parse(text));
  if (!parsed.success) throw new VerdictError("BAD_INPUT", "--input must be a JSON array of numbers (inline or a file), or ezkl input JSON with one row");
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.input_data[0]!;
}

/** The fulfilment transaction of a settled job, and the proof and instances it carried. */
async function fulfilment(market: InferenceMarket, jobId: bigint): Promise<{ tx: TransactionResponse; proof: string; instances: bigint[]; gasUsed: bigint }> {
  const [event] = await market.queryFilter(market.filters.JobFulfilled(jobId));
  if (!event) throw new VerdictError("NOT_FULFILLED", `job ${jobId} has no fulfilment on this chain`, "verdict job wait " + jobId);
  const [tx, receipt] = await Promise.all([event.getTransaction(), event.getTransactionReceipt()]);
  const call = market.interface.parseTransaction(tx);
  const auths =
    call?.name === "fulfil"
      ? [{ jobId: call.args[0] as bigint, proof: call.args[1] as string, instances: call.args[2] as bigint[] }]
      : call?.name === "fulfilWithSignature"
        ? [call.args[0]]
        : call?.name === "fulfilBatch"
          ? [...call.args[0]]
          : [];
  const auth = auths.find((a: { jobId: bigint }) => a.jobId === jobId) as { proof: string; instances: bigint[] } | undefined;
  if (!auth) throw new VerdictError("UNKNOWN_FULFILMENT", `transaction ${tx.hash} is not a market fulfilment call (relayed through another contract?)`);
  return { tx, proof: auth.proof, instances: [...auth.instances], gasUsed: receipt.gasUsed };
}

export function jobCommands(program: Command): void {
  const job = program.command("job").description("post inference jobs and read their verified results");

  chainOpts(
    job
      .command("create")
      .description("post a job: escrows the price now")
      .requiredOption("--model <id>", "registered model id", (v) => Number(v))
      .requiredOption("--input <json|file>", "input row: inline JSON array, or a file (JSON array or ezkl input JSON)")
      .option("--price <eth>", "price in ETH, escrowed at creation", "0.001")
      .option("--collateral <tokens>", "operator collateral, in stake tokens", "1")
      .option("--lock-timeout <seconds>", "seconds an operator has to lock the job", "600")
      .option("--timeout <seconds>", "seconds until the job's deadline", "1800")
      .option("--callback <address>", "contract told of the result (IInferenceConsumer)")
      .option("--callback-gas <gas>", "gas limit of the callback", "200000")
      .addHelpText("after", "\nExample:\n  verdict job create --model 1 --input '[0.1, -0.3, 1.2, ...]' --price 0.002"),
  ).action(async (o: ChainOptions & { model: number; input: string; price: string; collateral: string; lockTimeout: string; timeout: string; callback?: string; callbackGas: string }) => {
    const values = await parseInput(o.input);
    await withVerdict(o, async ({ market, registry }) => {
      const version = await registry.model(o.model);
      const input = values.map((v) => floatToFelt(v, Number(version.inputScale)));
      const price = parseEther(o.price);
      const request = {
        modelId: o.model,
        input,
        token: ZeroAddress,
        price,
        collateral: parseEther(o.collateral),
        lockTimeout: BigInt(o.lockTimeout),
        timeout: BigInt(o.timeout),
        callback: o.callback ?? ZeroAddress,
        callbackGasLimit: o.callback ? Number(o.callbackGas) : 0,
      };
      await market.createJob.staticCall(request, { value: price }); // a clear custom error before paying gas
      const { receipt, event } = await sent(market.createJob(request, { value: price }), market.interface, "JobCreated");
      print(o, { jobId: event!.args.jobId, model: o.model, price: `${formatEther(price)} ETH (escrowed)`, deadline: new Date(Number(event!.args.deadline) * 1000).toISOString(), tx: receipt.hash });
    });
  });

  chainOpts(job.command("status").description("a job's state").argument("<jobId>")).action(async (id: string, o: ChainOptions) => {
    await withVerdict(o, async ({ market }) => {
      const j = await market.jobOf(BigInt(id));
      print(o, { jobId: id, status: STATUS[Number(j.status)], model: j.modelId, requester: j.requester, operator: j.operator === ZeroAddress ? "-" : j.operator, price: j.price, lockDeadline: j.lockDeadline, deadline: j.deadline });
    });
  });

  chainOpts(job.command("wait").description("wait until the job is final").argument("<jobId>").option("--timeout <seconds>", "give up after", "600")).action(
    async (id: string, o: ChainOptions & { timeout: string }) => {
      await withVerdict(o, async ({ market }) => {
        const until = Date.now() + Number(o.timeout) * 1000;
        while (!(await market.isFinal(BigInt(id)))) {
          if (Date.now() > until) throw new VerdictError("TIMEOUT", `job ${id} not final after ${o.timeout} s`, `verdict job status ${id}`, true);
          await new Promise((r) => setTimeout(r, 1000));
        }
        print(o, { jobId: id, status: STATUS[Number((await market.jobOf(BigInt(id))).status)] });
      });
    },
  );

  chainOpts(job.command("result").description("the verified outputs and proof facts of a fulfilled job").argument("<jobId>")).action(async (id: string, o: ChainOptions) => {
    await withVerdict(o, async ({ market }) => {
      const [outputs, scale, finalizedAt] = await market.resultOf(BigInt(id));
      const f = await fulfilment(market, BigInt(id));
      print(o, {
        jobId: id,
        outputs: outputs.map((x) => Number(x) / 2 ** Number(scale)),
        rawOutputs: outputs,
        scale,
        finalizedAt: new Date(Number(finalizedAt) * 1000).toISOString(),
        proofBytes: (f.proof.length - 2) / 2,
        fulfilTx: f.tx.hash,
        fulfilGas: f.gasUsed,
      });
    });
  });

  chainOpts(
    homeOpt(
      program
        .command("verify")
        .description("re-verify a settled job's proof with no GPU and no project state: eth_call against the registered verifier, and natively with ezkl using the model's bundle (pulled from its registry URI and hash-checked)")
        .argument("<jobId>")
        .option("--from <base>", "fetch the model's bundle from this base URL or bundles folder instead of the registry URI's"),
    ),
  ).action(async (id: string, o: ChainOptions & { home: string; from?: string }) => {
    await withVerdict(o, async ({ market, registry, chain }) => {
      const jobId = BigInt(id);
      const job = await market.jobOf(jobId);
      const version = await registry.model(job.modelId);
      const f = await fulfilment(market, jobId);
      const verifier = IHalo2Verifier__factory.connect(version.verifier, chain.provider);
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      // Only a revert means INVALID: an RPC failure is an error (exit 1), never a verdict on the proof.
      const onChain = await verifier.verifyProof.staticCall(f.proof, f.instances).catch((e: unknown) => {
        if (isRevert(e)) return false;
        throw e;
      });
      const ethCallSeconds = (performance.now() - t0) / 1000;
      const result: Record<string, unknown> = { jobId: id, model: job.modelId, verifier: version.verifier, fulfilTx: f.tx.hash, ethCall: onChain ? "valid" : "INVALID", ethCallSeconds: ethCallSeconds.toFixed(3), ethCallRssDeltaMb: ((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(1) };
      const native = await nativeVerify(registry, job.modelId, o, f.proof, f.instances);
      Object.assign(result, native);
      print(o, result);
      if (!onChain || native.native === "INVALID") process.exitCode = 2;
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
  const work = await mkdtemp(path.join(tmpdir(), "verdict-verify-"));
  try {
    const bytes = Buffer.from(proof.slice(2), "hex");
    const le = (x: bigint) => Buffer.from(x.toString(16).padStart(64, "0"), "hex").reverse().toString("hex");
    const proofFile = path.join(work, "proof.json");
    await writeFile(proofFile, JSON.stringify({ protocol: null, instances: [instances.map(le)], proof: [...bytes], hex_proof: proof, split: null, pretty_public_inputs: null, timestamp: null, version: null }));
    const r = await runBridge("verify", { proof: proofFile, settings: circuit.file("settings.json"), vk: circuit.file("vk.key"), srs: circuit.srs }, z.object({ verified: z.boolean(), timings: timingsSchema, maxRssMb: z.number() }));
    return { native: r.verified ? "valid" : "INVALID", nativeSeconds: r.timings.verify?.toFixed(3) ?? "", nativeMaxRssMb: r.maxRssMb.toFixed(1) };
  } catch (e) {
    return { native: `error: ${(e as Error).message.split("\n")[0]}` };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
