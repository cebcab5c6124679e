// Where things are: the repository, the app binary, tauri-driver, artifacts,
// and the app's version as written in Cargo.toml (never hard-coded in tests).

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const artifactsDir = join(repoRoot, "artifacts", "e2e");

/** TEND_BIN, else the debug build in CARGO_TARGET_DIR (default ~/.cache/tend/target). */
export function appBinary(): string {
  const bin =
    process.env.TEND_BIN ??
    join(process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tend", "target"), "debug", "tend");
  if (!existsSync(bin)) {
    throw new Error(`app binary ${bin} not found; build it (bash scripts/e2e.sh --build) or set TEND_BIN`);
  }
  return bin;
}

/** TAURI_DRIVER, else `tauri-driver` on PATH, else ~/.cargo/bin/tauri-driver. */
export function tauriDriverBinary(): string {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "tauri-driver"))) return join(dir, "tauri-driver");
  }
  const cargoBin = join(homedir(), ".cargo", "bin", "tauri-driver");
  if (existsSync(cargoBin)) return cargoBin;
  throw new Error("tauri-driver not found; run scripts/install-deps.sh (cargo install tauri-driver --locked)");
}

/** The `[section]` body of a TOML file, naively (enough for Cargo manifests). */
function tomlSection(text: string, section: string): string {
  const start = text.indexOf(`[${section}]`);
  if (start < 0) return "";
  const rest = text.slice(start + section.length + 2);
  const next = rest.search(/^\[/m);
  return next < 0 ? rest : rest.slice(0, next);
}

/** The version of src-tauri's package, following `version.workspace = true` to the root manifest. */
export function appVersion(): string {
  const app = tomlSection(readFileSync(join(repoRoot, "src-tauri", "Cargo.toml"), "utf8"), "package");
  const own = app.match(/^version\s*=\s*"([^"]+)"/m);
  if (own) return own[1];
  if (!/^version(\.workspace\s*=\s*true|\s*=\s*\{\s*workspace\s*=\s*true\s*\})/m.test(app)) {
    throw new Error("src-tauri/Cargo.toml has no version");
  }
  const ws = tomlSection(readFileSync(join(repoRoot, "Cargo.toml"), "utf8"), "workspace.package");
  const inherited = ws.match(/^version\s*=\s*"([^"]+)"/m);
  if (!inherited) throw new Error("Cargo.toml has no [workspace.package] version");
  return inherited[1];
}
