// Gas of the market's hot paths, measured with a verifier that costs next to nothing (AcceptingVerifier), so what
// is left is the market's own settlement. Prints a labelled table; asserts upper bounds only (issue 13 targets).
import { expect } from "chai";
import { AcceptingVerifier__factory } from "../../types/ethers-contracts/index.js";
import {
  createJob,
  deploySystem,
  ethers,
  FAKE_PROOF,
  instancesFor,
  modelVersion,
  networkHelpers,
  signedFulfilment,
} from "../fixtures/system.js";

/** Settlement overhead targets (issue 13): execution gas of a fulfilment (intrinsic and calldata excluded) with a
 * verifier that costs ~nothing. */
const SINGLE_TARGET = 90_000n;
const PER_JOB_IN_BATCH_TARGET = 40_000n;
const BATCH = 32;

async function cheapVerifierFixture() {
  const s = await deploySystem();
  const verifier = await new AcceptingVerifier__factory(s.admin).deploy();
  await s.registry.register(modelVersion(await verifier.getAddress()));
  const modelId = await s.registry.modelCount();
  // A first settled job, so the operator's balance slot and the counters are warm as in steady state.
  const warm = await createJob(s.market, s.requester, { modelId });
  await s.market.connect(s.operator).lock(warm, await s.market.termsOf(warm));
  await s.market.connect(s.operator).fulfil(warm, FAKE_PROOF, instancesFor());
  return { ...s, modelId, cheap: verifier };
}

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  return (await (await tx).wait())!.gasUsed;
}

/** Gas a transaction spends on running contracts: its total less the 21,000 intrinsic and its calldata. */
async function executionGas(tx: Promise<{ data: string; wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<[bigint, bigint]> {
  const sent = await tx;
  const total = (await sent.wait())!.gasUsed;
  const bytes = ethers.getBytes(sent.data);
  const calldata = bytes.reduce((sum, b) => sum + (b === 0 ? 4n : 16n), 0n);
  return [total, total - 21_000n - calldata];
}

const fmt = ([total, exec]: [bigint, bigint]) => `${total.toLocaleString("en")} (execution ${exec.toLocaleString("en")})`;

const table: Record<string, string> = {};

describe("InferenceMarket gas (settlement overhead, verifier excluded)", () => {
  after(() => {
    console.log("\n    gas (AcceptingVerifier; tx total, and execution = total - 21,000 intrinsic - calldata):");
    for (const [k, v] of Object.entries(table)) console.log(`      ${k.padEnd(44)} ${v}`);
  });

  it("createJob, lock and a single fulfil stay within the single-job settlement target", async () => {
    const s = await networkHelpers.loadFixture(cheapVerifierFixture);
    const create = await gasOf(
      s.market.connect(s.requester).createJob(
        { modelId: s.modelId, input: instancesFor().slice(0, 3), token: ethers.ZeroAddress, price: 10n ** 16n, collateral: 10n ** 19n, lockTimeout: 600n, timeout: 3600n, callback: ethers.ZeroAddress, callbackGasLimit: 0 },
        { value: 10n ** 16n },
      ),
    );
    const jobId = await s.market.jobCount();
    const lock = await gasOf(s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId)));
    const fulfil = await executionGas(s.market.connect(s.operator).fulfil(jobId, FAKE_PROOF, instancesFor()));
    const job2 = await createJob(s.market, s.requester, { modelId: s.modelId });
    await s.market.connect(s.operator).lock(job2, await s.market.termsOf(job2));
    const auth = await signedFulfilment(s.market, s.operator, job2);
    const signed = await executionGas(s.market.connect(s.relayer).fulfilWithSignature(auth));
    table["createJob (ETH, 3 inputs)"] = create.toLocaleString("en");
    table["lock"] = lock.toLocaleString("en");
    table["fulfil (2 outputs)"] = fmt(fulfil);
    table["fulfilWithSignature (2 outputs)"] = fmt(signed);
    expect(fulfil[1]).to.be.lessThanOrEqual(SINGLE_TARGET);
    expect(signed[1]).to.be.lessThanOrEqual(SINGLE_TARGET);
  });

  it(`fulfilBatch of ${BATCH} signed fulfilments: gas per job`, async () => {
    const s = await networkHelpers.loadFixture(cheapVerifierFixture);
    const auths = [];
    for (let i = 0; i < BATCH; i++) {
      const jobId = await createJob(s.market, s.requester, { modelId: s.modelId, collateral: 10n ** 18n });
      await s.market.connect(s.operator).lock(jobId, await s.market.termsOf(jobId));
      auths.push(await signedFulfilment(s.market, s.operator, jobId));
    }
    const gas = await gasOf(s.market.connect(s.relayer).fulfilBatch(auths));
    table[`fulfilBatch x${BATCH}, per job (one proof each)`] = (gas / BigInt(BATCH)).toLocaleString("en");
  });
});
