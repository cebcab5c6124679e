// The X display the app runs on: the one scripts/e2e.sh provides (DISPLAY),
// or a private Xvfb started here so `npm test` also works on its own. Also
// reads the app window's X11 properties, which WebDriver cannot see.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { killNow } from "./processes.ts";

export interface Display {
  /** e.g. ":3" */
  name: string;
  stop(): void;
}

/**
 * Starts a private Xvfb of the given size (a free display number chosen by
 * Xvfb itself), optionally with the openbox window manager on it.
 */
export async function startXvfb(width = 1280, height = 800, options: { windowManager?: boolean } = {}): Promise<Display> {
  const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", `${width}x${height}x24`, "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "ignore", "pipe"],
  });
  const pids = () => [wm?.pid, xvfb.pid].filter((p): p is number => p !== undefined);
  let wm: ChildProcess | undefined;
  const onExit = () => killNow(pids());
  process.on("exit", onExit);
  const number = await new Promise<string>((resolve, reject) => {
    let out = "";
    xvfb.stdio[3]!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    xvfb.on("error", reject);
    xvfb.on("exit", (code) => reject(new Error(`Xvfb exited (${code}); install xvfb`)));
  });
  // Never keep the test process alive for Xvfb's sake; stop() or the exit hook ends it.
  (xvfb.stdio[3] as unknown as { destroy(): void }).destroy();
  xvfb.removeAllListeners("exit");
  xvfb.unref();
  const name = `:${number}`;
  if (options.windowManager) {
    wm = spawn("openbox", ["--sm-disable"], { env: { ...process.env, DISPLAY: name }, stdio: "ignore" });
    wm.unref();
    // openbox takes the _NET_SUPPORTING_WM_CHECK property on the root window when it manages the screen.
    const deadline = Date.now() + 5000;
    while (!xprop(name, ["-root", "_NET_SUPPORTING_WM_CHECK"]).includes("window id")) {
      if (Date.now() > deadline) throw new Error("openbox did not start; install openbox (scripts/install-deps.sh)");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    name,
    stop() {
      killNow(pids());
      process.off("exit", onExit);
    },
  };
}

function xprop(display: string, args: string[]): string {
  try {
    return execFileSync("xprop", args, { encoding: "utf8", env: { ...process.env, DISPLAY: display }, stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

/** Makes sure DISPLAY points at a running X server, starting Xvfb 1280x800x24 if none. */
export async function ensureDisplay(): Promise<string> {
  if (process.env.DISPLAY) return process.env.DISPLAY;
  process.env.DISPLAY = (await startXvfb()).name;
  return process.env.DISPLAY;
}

function x(cmd: string, args: string[], display?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...(display ? { DISPLAY: display } : {}) } });
}

/** The screen size of `display` (default: DISPLAY). */
export function screenSize(display?: string): { width: number; height: number } {
  const info = x("xwininfo", ["-root"], display);
  return {
    width: Number(info.match(/Width:\s*(\d+)/)![1]),
    height: Number(info.match(/Height:\s*(\d+)/)![1]),
  };
}

export interface X11Window {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** _NET_WM_STATE atoms, e.g. _NET_WM_STATE_FULLSCREEN. */
  netWmState: string[];
  /** The decorations field of _MOTIF_WM_HINTS (0 = undecorated), null if unset. */
  motifDecorations: number | null;
}

/** The app's main (largest) top-level window owned by `pid`, with its X11 state. */
export function appWindow(pid: number, display?: string): X11Window | null {
  const tree = x("xwininfo", ["-root", "-tree"], display);
  const candidates: X11Window[] = [];
  for (const line of tree.split("\n")) {
    const m = line.match(/^\s*(0x[0-9a-f]+) "[^"]*": \("tend" "Tend"\)\s+(\d+)x(\d+)\+(-?\d+)\+(-?\d+)/);
    if (!m) continue;
    const props = x("xprop", ["-id", m[1], "_NET_WM_PID", "_NET_WM_STATE", "_MOTIF_WM_HINTS"], display);
    const owner = props.match(/_NET_WM_PID\(CARDINAL\) = (\d+)/);
    if (!owner || Number(owner[1]) !== pid) continue;
    const state = props.match(/_NET_WM_STATE\(ATOM\) = (.*)/);
    const motif = props.match(/_MOTIF_WM_HINTS\(_MOTIF_WM_HINTS\) = (.*)/);
    candidates.push({
      id: m[1],
      width: Number(m[2]),
      height: Number(m[3]),
      x: Number(m[4]),
      y: Number(m[5]),
      netWmState: state ? state[1].split(",").map((s) => s.trim()) : [],
      motifDecorations: motif ? Number(motif[1].split(",")[2]) : null,
    });
  }
  candidates.sort((a, b) => b.width * b.height - a.width * a.height);
  return candidates[0] ?? null;
}
