// The prover process under faults (review S1-7): a bridge killed from outside (the OOM killer) or stopped at its
// timeout is a retryable failure, not a verdict on the input (a permanent failure left the locked job to be
// slashed); and a bridge whose parent dies goes with it (an orphaned proof held the CPU while the restarted
// operator proved the same job again).
import { expect } from "chai";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { REPO_ROOT } from "../../shared/paths.js";
import { quantisationError } from "../../operator/stages/prove.js";
import { EzklError, runBridge, WarmBridge } from "../../zk/runtime/bridge.js";
import { ensureCircuit, loadModelSpec, readInputRows } from "../../zk/build/circuit.js";
import { prove } from "../../zk/runtime/prover.js";
import { rejection } from "../fixtures/errors.js";

const PYTHON = path.join(REPO_ROOT, ".venv", "bin", "python");

/** Running (a zombie nobody reaped yet counts as gone: it holds no CPU or memory). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("ezkl bridge process faults", function () {
  this.timeout(60_000);
  let work: string;
  const saved = process.env.VERDICT_PYTHON;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "verdict-bridge-"));
  });
  after(async () => {
    if (saved === undefined) delete process.env.VERDICT_PYTHON;
    else process.env.VERDICT_PYTHON = saved;
    await rm(work, { recursive: true, force: true });
  });

  /** An executable standing in for Python that runs `body` (a shell script). */
  async function fakePython(name: string, body: string): Promise<string> {
    const file = path.join(work, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  it("a bridge killed by a signal (as the OOM killer does) fails retryably, naming the signal", async () => {
    process.env.VERDICT_PYTHON = await fakePython("killed", "kill -9 $$");
    const e = await rejection(runBridge("prove", {}, z.object({})));
    expect(e).to.be.instanceOf(EzklError);
    expect((e as EzklError).retryable).to.equal(true);
    expect(e.message).to.match(/killed by SIGKILL/);
  });

  it("a bridge that outlives its timeout is stopped and fails retryably", async () => {
    process.env.VERDICT_PYTHON = await fakePython("hung", "exec sleep 30");
    const t0 = Date.now();
    const e = await rejection(runBridge("prove", {}, z.object({}), { timeoutMs: 300 }));
    expect(Date.now() - t0, "stopped at the timeout, not after the sleep").to.be.lessThan(10_000);
    expect((e as EzklError).retryable).to.equal(true);
    expect(e.message).to.match(/no result within 300 ms/);
  });

  it("a bridge that reports an ezkl error fails for good (the input is at fault)", async () => {
    process.env.VERDICT_PYTHON = await fakePython("error", `echo '{"error": "RuntimeError: synthesis failed"}'; exit 1`);
    const e = await rejection(runBridge("prove", {}, z.object({})));
    expect((e as EzklError).retryable).to.equal(false);
  });

  it("the bridge dies with its parent: a SIGKILLed operator leaves no proof running", async () => {
    // A parent process that starts the bridge's parent-death guard in Python, then is SIGKILLed.
    const script = `import sys, time; sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, "zk", "runtime"))}); import bridge; bridge.die_with_parent(); print("guarded", flush=True); time.sleep(60)`;
    const parent = spawn(process.execPath, ["-e", `const c = require("node:child_process").spawn(${JSON.stringify(PYTHON)}, ["-c", ${JSON.stringify(script)}], { stdio: ["ignore", "pipe", "inherit"] }); c.stdout.on("data", () => console.log(c.pid));`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const child = await new Promise<number>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    expect(alive(child)).to.equal(true);
    parent.kill("SIGKILL");
    for (let i = 0; i < 50 && alive(child); i++) await sleep(100);
    expect(alive(child), `bridge ${child} still running after its parent was SIGKILLed`).to.equal(false);
  });

  describe("the warm prover (bridge.py serve)", () => {
    it("proves jobs one after another in one Python process, each proof verified", async () => {
      if (saved === undefined) delete process.env.VERDICT_PYTHON;
      else process.env.VERDICT_PYTHON = saved;
      const circuit = await ensureCircuit(await loadModelSpec("diabetes-regressor"));
      const rows = await readInputRows(path.join(circuit.spec.dir, circuit.spec.calibration!), circuit.inputs.count, "calibration");
      const bridge = new WarmBridge();
      try {
        const first = await prove(circuit, rows[0]!, { bridge: bridge.request });
        const pid = bridge.pid;
        const second = await prove(circuit, rows[1]!, { bridge: bridge.request });
        expect(pid, "the same process served both").to.be.a("number").and.equal(bridge.pid);
        expect(first.proof).to.not.equal(second.proof);
        expect(second.outputs).to.have.length(circuit.outputs.count);
      } finally {
        await bridge.close();
      }
    });

    it("a warm prover that outlives a request's timeout is killed, fails retryably, and the next request starts a fresh one", async () => {
      process.env.VERDICT_PYTHON = await fakePython("hung-server", `echo '{"ready": true, "ezkl": "fake"}'; exec sleep 30`);
      const bridge = new WarmBridge();
      try {
        const e = await rejection(bridge.request("prove", {}, z.object({}), { timeoutMs: 300 }));
        expect((e as EzklError).retryable).to.equal(true);
        const pid = bridge.pid;
        for (let i = 0; i < 50 && bridge.pid !== undefined; i++) await sleep(20);
        expect(bridge.pid, "the hung process is gone").to.equal(undefined);
        await rejection(bridge.request("prove", {}, z.object({}), { timeoutMs: 300 }));
        expect(bridge.pid === undefined || bridge.pid !== pid, "a fresh process served the next request").to.equal(true);
      } finally {
        await bridge.close();
      }
    });

    it("a warm prover killed mid-request (the OOM killer) fails that request retryably, naming the signal", async () => {
      process.env.VERDICT_PYTHON = await fakePython("killed-server", `echo '{"ready": true, "ezkl": "fake"}'; read line; kill -9 $$`);
      const bridge = new WarmBridge();
      try {
        const e = await rejection(bridge.request("prove", {}, z.object({})));
        expect((e as EzklError).retryable).to.equal(true);
        expect(e.message).to.match(/killed by SIGKILL/);
      } finally {
        await bridge.close();
      }
    });
  });
});

describe("quantisation sanity check", () => {
  it("passes proven outputs within the tolerance of onnxruntime's and names the first one beyond it", () => {
    expect(quantisationError([5.35, -0.2], [5.357, -0.21], 0.05)).to.equal(undefined);
    expect(quantisationError([5.35, 0.9], [5.357, -0.21], 0.05)).to.match(/#1 = 0.9 is further than 0.05/);
    expect(quantisationError([120.0], [126.0], 0.05), "relative for large outputs").to.equal(undefined);
    expect(quantisationError([1], [1, 2], 0.05)).to.match(/count 1 differs/);
  });
});
