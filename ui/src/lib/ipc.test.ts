import { describe, expect, it } from "vitest";
import { commands } from "./bindings";
import { call } from "./ipc";
import { mockCommands, reject } from "../test/ipc";

describe("call", () => {
  it("passes a command's data through", async () => {
    mockCommands({ check_server_url: ({ url }: Record<string, unknown>) => ({ normalized: url, is_loopback: false }) });
    await expect(call(() => commands.checkServerUrl("https://a.example"))).resolves.toEqual({
      status: "ok",
      data: { normalized: "https://a.example", is_loopback: false },
    });
  });

  it("returns the backend's AppError", async () => {
    mockCommands({ app_status: () => reject("STORAGE_UNAVAILABLE", "locked") });
    await expect(call(() => commands.appStatus())).resolves.toEqual({
      status: "error",
      error: { code: "STORAGE_UNAVAILABLE", message: "locked" },
    });
  });

  it("turns a framework rejection (a bare string, e.g. an unknown command) into INTERNAL", async () => {
    mockCommands({ app_status: () => Promise.reject("command app_status not found") });
    await expect(call(() => commands.appStatus())).resolves.toEqual({
      status: "error",
      error: { code: "INTERNAL", message: "command app_status not found" },
    });
  });

  it("never throws, even with no Tauri backend at all", async () => {
    const result = await call(() => commands.appInfo());
    expect(result.status).toBe("error");
    if (result.status === "error") expect(result.error.code).toBe("UNAVAILABLE");
  });
});
