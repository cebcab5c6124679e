// The status bar tells the truth about the central API: the app probes the
// configured server's /readyz in Rust and pushes the state to the window.
// A tiny HTTP server stands in for the API so the test controls its health.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { launchApp } from "../lib/app.ts";

test("status bar: online while the server is ready, offline when it is not", async (t) => {
  let ready = true;
  const server = createServer((req, res) => {
    res.writeHead(req.url === "/readyz" && ready ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;

  const configDir = mkdtempSync(join(tmpdir(), "tend-e2e-config-"));
  t.after(() => rmSync(configDir, { recursive: true, force: true }));
  const config = join(configDir, "tend.toml");
  writeFileSync(config, `server_url = "http://127.0.0.1:${port}"\n`);

  const app = await launchApp({ name: "connection", profile: "desktop", args: ["--config", config] });
  t.after(() => app.close());
  const status = app.testId("status-connection");

  await app.browser.waitUntil(async () => (await status.getAttribute("data-state")) === "online", {
    timeout: 10_000,
    timeoutMsg: "the status bar never showed online",
  });
  assert.match(await status.getText(), /online/i);
  await app.screenshot("1-online");

  // The API loses its database: /readyz answers 503. The next probe (every
  // 15 s) must turn the status bar offline without any user action.
  ready = false;
  await app.browser.waitUntil(async () => (await status.getAttribute("data-state")) === "offline", {
    timeout: 30_000,
    interval: 250,
    timeoutMsg: "the status bar never showed offline",
  });
  await app.screenshot("2-offline");
});
