// Test helpers: answer Tauri commands from plain objects through @tauri-apps/api/mocks.
import { mockIPC } from "@tauri-apps/api/mocks";
import { DOMAIN_RULES, type AppError, type AppInfo, type AppStatus, type FacilityPolicy_Serialize, type WedgeSettings } from "$lib/bindings";

type Handler = (args: Record<string, unknown>) => unknown;

/** Thrown from a handler, this reaches the UI the way a Rust `Err(AppError)` does. */
export class Rejection {
  constructor(readonly error: AppError) {}
}

/**
 * Installs a mock backend. Each command answers with a value, or with `reject(error)`
 * to make the command fail with an AppError. Unknown commands fail loudly. Returns the
 * names of the commands called, in order (event plumbing is not recorded).
 */
export function mockCommands(handlers: Record<string, unknown>): string[] {
  const calls: string[] = [];
  mockIPC((cmd, payload) => {
    calls.push(cmd);
    if (!(cmd in handlers)) throw new Error(`unexpected command ${cmd}`);
    const handler = handlers[cmd];
    const answer = typeof handler === "function" ? (handler as Handler)((payload ?? {}) as Record<string, unknown>) : handler;
    // A rejected promise carrying the plain object is what Tauri's invoke does on Err.
    if (answer instanceof Rejection) return Promise.reject(answer.error);
    return answer;
    // Events (listen/emit) are served by the mock itself, so tests can `emit` what Rust would push.
  }, { shouldMockEvents: true });
  return calls;
}

export const reject = (code: AppError["code"], message: string): Rejection => new Rejection({ code, message });

/** A facility policy at Rust's defaults (tend-domain `FacilityPolicy::default`, via DOMAIN_RULES). */
export const DEFAULT_POLICY: FacilityPolicy_Serialize = Object.fromEntries(
  Object.entries(DOMAIN_RULES.facility_policy).map(([key, range]) => [key, range.default]),
) as FacilityPolicy_Serialize;

/** The app's default keyboard-wedge format (tend-core `WedgeSettings::default`). */
export const DEFAULT_WEDGE: WedgeSettings = {
  min_length: 4,
  max_length: 20,
  prefix: "",
  suffix: "",
  max_inter_key_ms: 30,
  max_gap_ms: 80,
  encoding: "decimal",
};

export const DESKTOP_INFO: AppInfo = {
  version: "0.1.0",
  profile: "desktop",
  platform: "linux-x86_64",
  data_dir: "/home/nurse/.local/share/org.tend.app",
  log_dir: "/home/nurse/.local/share/org.tend.app/logs",
  webkit_dmabuf_workaround: false,
  wedge: DEFAULT_WEDGE,
};

export const NOT_CONFIGURED: AppStatus = { connection: "not_configured", server_url: null, last_sync: null, pending: 0, language: "en" };
