// Launches the real Tend window under tauri-driver and hands a test the
// WebDriver session plus the helpers every journey needs. One tauri-driver
// per launch, on free ports, so launches never share state; close() always
// ends every process the launch started.

import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { remote } from "webdriverio";
import { ensureDisplay } from "./display.ts";
import { appBinary, artifactsDir, tauriDriverBinary } from "./paths.ts";
import { after, commandLine, endProcesses, freePort, killNow, processTree, waitForHttp } from "./processes.ts";

export type Profile = "desktop" | "kiosk";

export interface LaunchOptions {
  /** Names the artifacts (driver log, app log, screenshots); use the test's name. */
  name: string;
  profile?: Profile;
  /** Defaults to a fresh temp directory, removed again by close(). */
  dataDir?: string;
  /** More app arguments after --profile and --data-dir. */
  args?: string[];
  /** Extra environment for the app (TEND_*, ...); tauri-driver passes its own on. */
  env?: Record<string, string>;
  binary?: string;
  /** How long to wait for the first painted screen. */
  readyTimeoutMs?: number;
}

type Browser = WebdriverIO.Browser;

/** Processes of every live launch, killed synchronously if the test process dies. */
const live = new Set<App>();
process.on("exit", () => {
  for (const app of live) killNow(app.knownPids());
});

export class App {
  readonly browser: Browser;
  readonly dataDir: string;
  readonly name: string;
  /** The tend process (a child of WebKitWebDriver). */
  readonly appPid: number;
  private readonly driver: ChildProcess;
  private readonly ownsDataDir: boolean;
  private seen = new Set<number>();
  private closed = false;

  constructor(init: { browser: Browser; dataDir: string; name: string; appPid: number; driver: ChildProcess; ownsDataDir: boolean }) {
    this.browser = init.browser;
    this.dataDir = init.dataDir;
    this.name = init.name;
    this.appPid = init.appPid;
    this.driver = init.driver;
    this.ownsDataDir = init.ownsDataDir;
    this.knownPids();
  }

  /** Every pid this launch has started so far (remembered, since orphans get reparented). */
  knownPids(): number[] {
    for (const root of [this.driver.pid, this.appPid]) {
      if (root) for (const pid of processTree(root)) this.seen.add(pid);
    }
    return [...this.seen];
  }

  /** The element with `data-testid="id"`. */
  testId(id: string) {
    return this.browser.$(`[data-testid="${id}"]`);
  }

  /** Waits until the element with test id `id` is displayed and its text matches. Returns the text. */
  async waitForText(id: string, expected: string | RegExp, timeoutMs = 10_000): Promise<string> {
    let last = "(element not found)";
    try {
      await this.browser.waitUntil(
        async () => {
          const el = this.testId(id);
          if (!(await el.isExisting()) || !(await el.isDisplayed())) return false;
          last = await el.getText();
          return typeof expected === "string" ? last.includes(expected) : expected.test(last);
        },
        { timeout: timeoutMs, interval: 100 },
      );
    } catch {
      throw new Error(`[data-testid="${id}"] never showed ${String(expected)} within ${timeoutMs} ms; last text: ${JSON.stringify(last)}`);
    }
    return last;
  }

  /** Waits for the element with test id `id` to be displayed and returns it. */
  async waitFor(id: string, timeoutMs = 10_000) {
    const el = this.testId(id);
    await el.waitForDisplayed({ timeout: timeoutMs, timeoutMsg: `[data-testid="${id}"] not displayed within ${timeoutMs} ms` });
    return el;
  }

  /** Goes to a hash route ("#/setup" or "setup") and waits until the router has it. */
  async goto(route: string): Promise<void> {
    const hash = route.startsWith("#") ? route : `#/${route.replace(/^\//, "")}`;
    await this.browser.execute((h: string) => {
      window.location.hash = h;
    }, hash);
    await this.browser.waitUntil(async () => (await this.browser.execute(() => window.location.hash)) === hash, {
      timeout: 5000,
      timeoutMsg: `location.hash never became ${hash}`,
    });
  }

  /** Replaces an input's value the way a person types it. */
  async type(id: string, text: string): Promise<void> {
    const el = await this.waitFor(id);
    await el.clearValue();
    await el.setValue(text);
  }

  /** Saves a WebDriver screenshot of the window to artifacts/e2e/<name>.png and returns the path. */
  async screenshot(step?: string): Promise<string> {
    mkdirSync(artifactsDir, { recursive: true });
    const file = join(artifactsDir, `${safeName(step ? `${this.name}-${step}` : this.name)}.png`);
    // WebKitWebDriver answers a screenshot only after the page's next rendering
    // update; a still screen (nothing animating) never has one and the call
    // hangs. A 1-pixel, 1 %-opaque dot that keeps changing colour guarantees it.
    await this.browser.execute(() => {
      const dot = document.createElement("div");
      dot.id = "e2e-repaint";
      dot.setAttribute("aria-hidden", "true");
      dot.style.cssText = "position:fixed;left:0;top:0;width:1px;height:1px;opacity:0.01;pointer-events:none";
      document.body.appendChild(dot);
      let flip = false;
      const timer = setInterval(() => {
        flip = !flip;
        dot.style.background = flip ? "#fff" : "#000";
      }, 16);
      dot.dataset.timer = String(timer);
    });
    try {
      await this.browser.saveScreenshot(file);
    } finally {
      await this.browser.execute(() => {
        const dot = document.getElementById("e2e-repaint");
        if (dot) {
          clearInterval(Number(dot.dataset.timer));
          dot.remove();
        }
      });
    }
    return file;
  }

  /** The app's log so far (the daily file in <data dir>/logs). */
  log(): string {
    const dir = join(this.dataDir, "logs");
    if (!existsSync(dir)) return "";
    return readdirSync(dir)
      .filter((f) => f.endsWith(".log"))
      .sort()
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("");
  }

  /** Waits until a line of the app's log matches `pattern`; returns the line. */
  async waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    let line: string | undefined;
    await this.browser.waitUntil(
      async () => {
        line = this.log().split("\n").find((l) => pattern.test(l));
        return line !== undefined;
      },
      { timeout: timeoutMs, interval: 100, timeoutMsg: `no log line matched ${pattern} within ${timeoutMs} ms` },
    );
    return line!;
  }

  /** Ends the session and every process of this launch; keeps the app log in artifacts. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.knownPids();
    try {
      await Promise.race([this.browser.deleteSession(), after(5000, undefined)]);
    } catch {
      // the app may already be gone; the processes are ended below either way
    }
    const survivors = await endProcesses(this.knownPids());
    live.delete(this);
    try {
      mkdirSync(artifactsDir, { recursive: true });
      const logs = join(this.dataDir, "logs");
      if (existsSync(logs)) cpSync(logs, join(artifactsDir, `${safeName(this.name)}.app-logs`), { recursive: true });
    } catch {
      // artifacts are a convenience
    }
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    if (survivors.length) throw new Error(`processes survived SIGKILL: ${survivors.join(", ")}`);
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
}

/**
 * The environment the app starts with: this process's, minus any TEND_* the
 * host has set, with XDG_CONFIG_HOME pointing where no tend.toml exists (so a
 * developer's own config never leaks in), plus `extra`.
 */
export function appEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("TEND_")) env[key] = value;
  env.XDG_CONFIG_HOME = join(tmpdir(), "tend-e2e-no-config");
  return { ...env, ...extra };
}

/** A fresh, empty temp directory for a data dir (0700). */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "tend-e2e-"));
}

/** Starts tauri-driver and the app, waits until the first screen has painted. */
export async function launchApp(options: LaunchOptions): Promise<App> {
  await ensureDisplay();
  const binary = options.binary ?? appBinary();
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? tempDataDir();
  const [port, nativePort] = [await freePort(), await freePort()];

  mkdirSync(artifactsDir, { recursive: true });
  const driverLog = openSync(join(artifactsDir, `${safeName(options.name)}.driver.log`), "w");
  const driver = spawn(tauriDriverBinary(), ["--port", String(port), "--native-port", String(nativePort)], {
    env: appEnvironment(options.env),
    stdio: ["ignore", driverLog, driverLog],
  });
  const driverPids = () => (driver.pid ? processTree(driver.pid) : []);
  let browser: Browser | undefined;
  let app: App | undefined;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/status`, 10_000, () => driver.exitCode === null);
    browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "warn",
      connectionRetryCount: 0,
      waitforTimeout: 10_000,
      capabilities: {
        "wdio:enforceWebDriverClassic": true,
        "tauri:options": {
          application: binary,
          args: ["--profile", options.profile ?? "desktop", "--data-dir", dataDir, ...(options.args ?? [])],
        },
      } as WebdriverIO.Capabilities,
    });
    const appPid = driverPids().find((pid) => commandLine(pid)[0] === binary);
    if (appPid === undefined) throw new Error(`no ${binary} process under tauri-driver`);
    app = new App({ browser, dataDir, name: options.name, appPid, driver, ownsDataDir });
    live.add(app);
    // The status bar is in the shell on every route: once it exists, Svelte has mounted.
    const session = browser;
    await session.waitUntil(
      async () =>
        session.execute(
          () => document.readyState === "complete" && document.querySelector('[data-testid="status-connection"]') !== null,
        ),
      { timeout: options.readyTimeoutMs ?? 15_000, interval: 100, timeoutMsg: "the UI never mounted" },
    );
    return app;
  } catch (e) {
    if (app) {
      await app.close().catch(() => {});
    } else {
      const pids = driverPids();
      if (browser) await Promise.race([browser.deleteSession().catch(() => {}), after(3000, undefined)]);
      await endProcesses([...pids, ...driverPids()]);
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    }
    throw e;
  }
}
