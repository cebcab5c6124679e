// TEMPORARY stand-in for the file tauri-specta generates from the Rust commands.
// It has exactly the shape of the generated one (commands + types) so the UI compiles
// before the generator runs; the generated file replaces it wholesale. Do not add to it.

export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };
export type ErrorCode = "VALIDATION_FAILED" | "MALFORMED_REQUEST" | "PAYLOAD_TOO_LARGE" | "NOT_FOUND" | "CONFLICT" | "UNAUTHORIZED" | "FORBIDDEN" | "RATE_LIMITED" | "UNSUPPORTED_VERSION" | "OFFLINE" | "CONFIG_INVALID" | "STORAGE_UNAVAILABLE" | "UNAVAILABLE" | "INTERNAL";
export type AppError = { code: ErrorCode; message: string };
export type Profile = "desktop" | "kiosk";
export type AppInfo = { version: string; profile: Profile; platform: string; data_dir: string; log_dir: string; webkit_dmabuf_workaround: boolean };
export type ConnectionState = "not_configured" | "online" | "offline";
export type AppStatus = { connection: ConnectionState; server_url: string | null; last_sync: string | null; pending: number };
export type ServerUrlCheck = { normalized: string; is_loopback: boolean };

import { invoke as TAURI_INVOKE } from "@tauri-apps/api/core";

export const commands = {
  async appInfo(): Promise<Result<AppInfo, AppError>> {
    try {
      return { status: "ok", data: await TAURI_INVOKE("app_info") };
    } catch (e) {
      if (e instanceof Error) throw e;
      else return { status: "error", error: e as any };
    }
  },
  async appStatus(): Promise<Result<AppStatus, AppError>> {
    try {
      return { status: "ok", data: await TAURI_INVOKE("app_status") };
    } catch (e) {
      if (e instanceof Error) throw e;
      else return { status: "error", error: e as any };
    }
  },
  async checkServerUrl(url: string): Promise<Result<ServerUrlCheck, AppError>> {
    try {
      return { status: "ok", data: await TAURI_INVOKE("check_server_url", { url }) };
    } catch (e) {
      if (e instanceof Error) throw e;
      else return { status: "error", error: e as any };
    }
  },
};
