// The X display the app runs on: the one scripts/e2e.sh provides (DISPLAY),
// or a private Xvfb started here so `npm test` also works on its own. Also
// reads the app window's X11 properties, which WebDriver cannot see.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { killNow } from "./processes.ts";

let ownXvfb: ChildProcess | null = null;

/** Makes sure DISPLAY points at a running X server, starting Xvfb 1280x800x24 if none. */
export async function ensureDisplay(): Promise<string> {
  if (process.env.DISPLAY) return process.env.DISPLAY;
  const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "ignore", "pipe"],
  });
  ownXvfb = xvfb;
  process.on("exit", () => killNow(xvfb.pid ? [xvfb.pid] : []));
  const number = await new Promise<string>((resolve, reject) => {
    let out = "";
    xvfb.stdio[3]!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    xvfb.on("error", reject);
    xvfb.on("exit", (code) => reject(new Error(`Xvfb exited (${code}); install xvfb`)));
  });
  // Never keep the test process alive for Xvfb's sake; the exit hook ends it.
  (xvfb.stdio[3] as unknown as { destroy(): void }).destroy();
  xvfb.removeAllListeners("exit");
  xvfb.unref();
  process.env.DISPLAY = `:${number}`;
  return process.env.DISPLAY;
}

export function stopOwnDisplay(): void {
  if (ownXvfb?.pid) killNow([ownXvfb.pid]);
  ownXvfb = null;
}

function x(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", env: process.env });
}

export function screenSize(): { width: number; height: number } {
  const info = x("xwininfo", ["-root"]);
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
export function appWindow(pid: number): X11Window | null {
  const tree = x("xwininfo", ["-root", "-tree"]);
  const candidates: X11Window[] = [];
  for (const line of tree.split("\n")) {
    const m = line.match(/^\s*(0x[0-9a-f]+) "[^"]*": \("tend" "Tend"\)\s+(\d+)x(\d+)\+(-?\d+)\+(-?\d+)/);
    if (!m) continue;
    const props = x("xprop", ["-id", m[1], "_NET_WM_PID", "_NET_WM_STATE", "_MOTIF_WM_HINTS"]);
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
