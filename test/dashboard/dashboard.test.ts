// The dashboard: concentration indices (pure), and the whole page in a real headless Chromium against a local
// chain with the Verdict stack deployed and one wine-classifier job settled with a real proof.
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import getPort from "get-port";
import { chromium, type Browser } from "playwright-core";
import { hhi, nakamoto, shares } from "../../dashboard/concentration.js";
import { startDashboard, type Dashboard } from "../../dashboard/server.js";
import { startLocalStack, type StackRun } from "../../infra/localStack.js";
import { REPO_ROOT } from "../../shared/paths.js";
import { InferenceMarket__factory } from "../../types/ethers-contracts/index.js";
import { readInputRows } from "../../zk/build/circuit.js";
import { floatToFelt } from "../../zk/runtime/felt.js";
import { prove } from "../../zk/runtime/prover.js";

const CHROMIUM = "/usr/bin/chromium";

describe("dashboard concentration indices", () => {
  it("HHI is 10,000 for one operator and 5,000 for two equal ones", () => {
    expect(hhi([7n])).to.equal(10_000);
    expect(hhi([5n, 5n])).to.equal(5_000);
    expect(hhi([10n ** 20n, 3n * 10n ** 20n])).to.equal(6_250);
  });

  it("Nakamoto counts the fewest operators holding more than half", () => {
    expect(nakamoto([60n, 40n])).to.equal(1);
    expect(nakamoto([30n, 30n, 40n])).to.equal(2);
    expect(nakamoto([50n, 50n])).to.equal(2);
  });

  it("empty or all-zero input gives 0, not NaN", () => {
    expect([hhi([]), nakamoto([]), hhi([0n, 0n]), nakamoto([0n])]).to.deep.equal([0, 0, 0, 0]);
    expect(shares([])).to.deep.equal([]);
    expect(shares([0n, 0n])).to.deep.equal([0, 0]);
    expect(shares([1n, 3n])).to.deep.equal([0.25, 0.75]);
  });
});

describe("dashboard in a browser, on a local chain with one proven job", function () {
  this.timeout(600_000);
  let run: StackRun | undefined;
  let dashboard: Dashboard | undefined;
  let browser: Browser | undefined;

  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await run?.stop({ removeWork: true });
  });

  it("shows the settled job, its operator, the models and the execution HHI", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} missing: install Debian's package with \`apt-get install -y chromium\``).to.equal(true);
    run = await startLocalStack("dashboard");
    const { stack, chain } = run;
    const [, operator, , requester] = await stack.connection.ethers.getSigners();
    const market = InferenceMarket__factory.connect(stack.addresses.market, requester!);

    // Post, lock and fulfil one job by hand (no operator service): account 1 was staked by deployLocalStack.
    const { modelId, circuit } = stack.models["wine-classifier"]!;
    const [row] = await readInputRows(path.join(circuit.spec.dir, circuit.spec.sample), circuit.inputs.count, "sample");
    const price = 10n ** 15n;
    const request = {
      modelId,
      input: row!.map((v) => floatToFelt(v, circuit.inputs.scale)),
      token: "0x0000000000000000000000000000000000000000",
      price,
      collateral: 10n ** 18n,
      lockTimeout: 600n,
      timeout: 1800n,
      callback: "0x0000000000000000000000000000000000000000",
      callbackGasLimit: 0,
    };
    const created = await (await market.createJob(request, { value: price })).wait();
    const jobId = created!.logs.map((l) => market.interface.parseLog(l)).find((l) => l?.name === "JobCreated")!.args.jobId as bigint;
    await (await market.connect(operator!).lock(jobId, await market.termsOf(jobId))).wait();
    const proof = await prove(circuit, row!);
    await (await market.connect(operator!).fulfil(jobId, proof.proof, proof.instances)).wait();

    dashboard = await startDashboard({ rpcUrl: chain.url, deploymentsDir: stack.deploymentsDir, port: await getPort({ host: "127.0.0.1" }) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    // Any request leaving the dashboard's origin would mean a CDN or font dependency: the page must work offline.
    const foreign: string[] = [];
    page.on("request", (r) => void (r.url().startsWith(dashboard!.url) || foreign.push(r.url())));
    await page.goto(dashboard.url);

    const job = page.locator(`[data-testid="job-row"][data-id="${jobId}"]`);
    await job.waitFor({ timeout: 30_000 });
    expect(await job.locator("td").nth(0).textContent()).to.equal(`#${jobId}`);
    expect(await job.locator("td").nth(1).textContent()).to.equal("Fulfilled");
    expect(await job.locator("td").nth(3).getAttribute("title")).to.equal(operator!.address);
    expect(await job.locator("td").nth(7).textContent()).to.equal(`${((proof.proof.length - 2) / 2).toLocaleString("en")} B`);
    expect(await page.locator(`[data-testid="operator-row"][data-id="${operator!.address}"]`).count()).to.equal(1);
    expect(await page.getByTestId("model-count").textContent()).to.equal(`(${Object.keys(stack.models).length})`);
    expect(await page.getByTestId("model-row").count()).to.equal(Object.keys(stack.models).length);
    expect(await page.getByTestId("hhi-jobs").textContent()).to.equal("10000");
    expect(await page.getByTestId("nakamoto-jobs").textContent()).to.equal("1");
    // Two operators staked 100 VDT each.
    expect(await page.getByTestId("hhi-stake").textContent()).to.equal("5000");
    expect(await page.getByTestId("verifications").textContent()).to.equal("1");
    expect(await page.locator('[data-testid="chart-jobs"] rect.bar').count()).to.equal(2);
    expect(foreign).to.deep.equal([]);

    const reports = path.join(REPO_ROOT, ".cache", "reports");
    await mkdir(reports, { recursive: true });
    await page.screenshot({ path: path.join(reports, "dashboard.png"), fullPage: true });
  });
});
