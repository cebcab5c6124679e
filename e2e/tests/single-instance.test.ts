// One Tend per data directory: a second start with the same --data-dir exits
// non-zero with a message that says what to do, and the first keeps running.
// Plain child processes, no WebDriver.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { appEnvironment, tempDataDir } from "../lib/app.ts";
import { ensureDisplay } from "../lib/display.ts";
import { appBinary } from "../lib/paths.ts";
import { after, endProcesses, isAlive, processTree } from "../lib/processes.ts";

function start(dataDir: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(appBinary(), ["--profile", "desktop", "--data-dir", dataDir], {
    env: appEnvironment({ NO_COLOR: "1" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (c: Buffer) => (text += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a second instance on the same data dir exits non-zero with a message", async (t) => {
  await ensureDisplay();
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));

  const first = start(dataDir);
  const firstPids = new Set<number>();
  t.after(async () => {
    if (first.child.pid) for (const pid of processTree(first.child.pid)) firstPids.add(pid);
    await endProcesses(firstPids);
  });
  await waitFor("the first instance's `ui ready`", () => /ui ready/.test(first.output()) || first.child.exitCode !== null, 30_000);
  assert.equal(first.child.exitCode, null, `the first instance exited:\n${first.output()}`);
  for (const pid of processTree(first.child.pid!)) firstPids.add(pid);

  const second = start(dataDir);
  const code = await Promise.race([second.exited, after(15_000, "hung" as const)]);
  if (code === "hung") await endProcesses(processTree(second.child.pid!));
  assert.notEqual(code, "hung", "the second instance kept running");
  assert.notEqual(code, 0);
  assert.match(second.output(), /already running/);
  assert.ok(second.output().includes(dataDir), "the message names the data dir");
  assert.match(second.output(), new RegExp(`process ${first.child.pid}`), "and the process holding it");

  assert.ok(isAlive(first.child.pid!), "the first instance is unaffected");
});
