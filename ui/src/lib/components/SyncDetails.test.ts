import { emit } from "@tauri-apps/api/event";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import type { AppStatus } from "$lib/bindings";
import type { SyncStatus } from "$lib/nurse-types";
import { SyncWatcher } from "$lib/sync.svelte";
import { mockCommands, reject } from "../../test/ipc";
import StatusBar from "./StatusBar.svelte";

const NOW = new Date("2026-11-27T15:00:00Z");
const ONLINE: AppStatus = { connection: "online", server_url: "https://tend.example.org", last_sync: null, pending: 0, language: "en" };

const SYNCED: SyncStatus = {
  online: true,
  syncing: false,
  last_sync: "2026-11-27T14:58:00Z",
  pending: 0,
  oldest_pending_since: null,
  rejected: 0,
  initial_sync: null,
  last_error: null,
  update_needed: false,
};

describe("StatusBar with the background sync", () => {
  it("shows last sync and pending from the sync status", () => {
    render(StatusBar, { status: ONLINE, sync: { ...SYNCED, pending: 4 }, now: NOW });
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent("Synced 2 minutes ago");
    expect(screen.getByTestId("status-pending")).toHaveTextContent("4 changes waiting to sync");
    expect(screen.queryByTestId("status-sync-problem")).not.toBeInTheDocument();
  });

  it("says when a sync round is running", () => {
    render(StatusBar, { status: ONLINE, sync: { ...SYNCED, syncing: true }, now: NOW });
    expect(screen.getByTestId("status-last-sync")).toHaveTextContent("Syncing…");
  });

  it("shows offline from the sync status when the app status is unknown", () => {
    render(StatusBar, { status: null, sync: { ...SYNCED, online: false }, now: NOW });
    expect(screen.getByTestId("status-connection")).toHaveAttribute("data-state", "offline");
    expect(screen.getByTestId("status-connection")).toHaveTextContent("Changes are kept on this device");
  });

  it("shows a progress bar during the first sync", () => {
    render(StatusBar, { status: ONLINE, sync: { ...SYNCED, last_sync: null, syncing: true, initial_sync: { received: 4200, remaining: 5800, percent: 42 } }, now: NOW });
    const progress = screen.getByRole("progressbar", { name: "First sync progress" });
    expect(progress).toHaveAttribute("value", "42");
    expect(screen.getByTestId("status-initial-sync")).toHaveTextContent("First sync: 4,200 received (42 %)");
  });

  it("does not call an unreachable server a sync problem while the device shows offline", () => {
    render(StatusBar, {
      status: { ...ONLINE, connection: "offline" },
      now: NOW,
      sync: {
        ...SYNCED,
        online: false,
        pending: 1,
        last_error: { code: "OFFLINE", message: "connect ECONNREFUSED 10.0.0.5:443", at: "2026-11-27T14:59:00Z" },
      },
    });
    expect(screen.getByTestId("status-connection")).toHaveTextContent("Offline");
    expect(screen.queryByTestId("status-sync-problem")).not.toBeInTheDocument();
  });

  it("opens sync details with the last error in plain words, and closes with Escape", async () => {
    render(StatusBar, {
      status: ONLINE,
      now: NOW,
      sync: {
        ...SYNCED,
        online: false,
        pending: 3,
        oldest_pending_since: "2026-11-27T14:20:00Z",
        rejected: 1,
        last_error: { code: "OFFLINE", message: "connect ECONNREFUSED 10.0.0.5:443", at: "2026-11-27T14:59:00Z" },
      },
    });
    expect(screen.getByTestId("status-sync-problem")).toHaveTextContent("Sync problem");
    const opener = screen.getByRole("button", { name: "Sync details" });
    await userEvent.click(opener);
    const dialog = screen.getByRole("dialog", { name: "Sync details" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(within(dialog).getByRole("heading", { name: "Sync details" })).toHaveFocus();
    expect(within(dialog).getByTestId("sync-details-connection")).toHaveTextContent("Offline");
    expect(within(dialog).getByTestId("sync-details-last")).toHaveTextContent("Synced 2 minutes ago");
    expect(within(dialog).getByTestId("sync-details-pending")).toHaveTextContent("3 changes, the oldest from");
    expect(within(dialog).getByTestId("sync-details-rejected")).toHaveTextContent("1 record");
    const problem = within(dialog).getByTestId("sync-details-error");
    expect(problem).toHaveTextContent("The server couldn't be reached");
    expect(problem).not.toHaveTextContent("ECONNREFUSED");

    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(opener).toHaveFocus();
  });

  it("asks to update Tend when the server refuses this version", async () => {
    render(StatusBar, { status: ONLINE, now: NOW, sync: { ...SYNCED, update_needed: true, pending: 2 } });
    expect(screen.getByTestId("status-sync-problem")).toHaveTextContent("Update Tend");
    await userEvent.click(screen.getByRole("button", { name: "Sync details" }));
    expect(screen.getByTestId("sync-update-needed")).toHaveTextContent("Ask your administrator to update this device");
  });

  it("keeps Tab inside the dialog", async () => {
    render(StatusBar, { status: ONLINE, now: NOW, sync: SYNCED });
    await userEvent.click(screen.getByRole("button", { name: "Sync details" }));
    const dialog = screen.getByRole("dialog");
    const buttons = within(dialog).getAllByRole("button");
    buttons[buttons.length - 1]!.focus();
    await userEvent.tab();
    expect(buttons[0]).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(buttons[buttons.length - 1]).toHaveFocus();
  });

  it("syncs now from the details, and says when it can't", async () => {
    const onsyncnow = vi.fn().mockResolvedValueOnce(null).mockResolvedValueOnce({ code: "OFFLINE", message: "" });
    render(StatusBar, { status: ONLINE, now: NOW, sync: SYNCED, onsyncnow });
    await userEvent.click(screen.getByRole("button", { name: "Sync details" }));
    await userEvent.click(screen.getByRole("button", { name: /Sync now/ }));
    expect(onsyncnow).toHaveBeenCalledTimes(1);
    expect(screen.queryByTestId("sync-now-error")).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: /Sync now/ }));
    expect(await screen.findByTestId("sync-now-error")).toHaveTextContent("This device is offline");
  });

  it("has no sync details without a sync status (older app, existing props)", () => {
    render(StatusBar, { status: ONLINE, now: NOW });
    expect(screen.queryByRole("button", { name: "Sync details" })).not.toBeInTheDocument();
  });
});

describe("SyncWatcher", () => {
  it("loads the status, follows pushed changes and syncs on request", async () => {
    const calls = mockCommands({ sync_status: SYNCED, sync_now: null });
    const watcher = new SyncWatcher();
    watcher.start();
    await waitFor(() => expect(watcher.status).toEqual(SYNCED));
    await emit("sync-status-changed", { ...SYNCED, pending: 5 });
    await waitFor(() => expect(watcher.status?.pending).toBe(5));
    expect(await watcher.syncNow()).toBeNull();
    expect(calls).toContain("sync_now");
    watcher.stop();
  });

  it("keeps the error when the status can't be read", async () => {
    mockCommands({ sync_status: reject("STORAGE_UNAVAILABLE", "EIO"), sync_now: reject("OFFLINE", "no route") });
    const watcher = new SyncWatcher();
    await watcher.refresh();
    expect(watcher.status).toBeNull();
    expect(watcher.error?.code).toBe("STORAGE_UNAVAILABLE");
    expect((await watcher.syncNow())?.code).toBe("OFFLINE");
  });
});

describe("sync details in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names what waits, what was refused and the last problem in Spanish", async () => {
    setDeviceLanguage("es");
    render(StatusBar, {
      status: ONLINE,
      sync: {
        ...SYNCED,
        pending: 2,
        rejected: 1,
        last_error: { code: "RATE_LIMITED", message: "slow down", at: "2026-11-27T14:59:00Z" },
      },
      now: NOW,
    });
    expect(screen.getByTestId("status-sync-problem")).toHaveTextContent("Problema de sincronización");
    await userEvent.click(screen.getByTestId("status-sync-details"));
    const dialog = screen.getByRole("dialog", { name: "Detalles de sincronización" });
    expect(within(dialog).getByTestId("sync-details-connection")).toHaveTextContent("En línea");
    expect(within(dialog).getByTestId("sync-details-last")).toHaveTextContent("Sincronizado hace 2 minutos");
    expect(within(dialog).getByTestId("sync-details-pending")).toHaveTextContent("2 cambios");
    expect(within(dialog).getByTestId("sync-details-rejected")).toHaveTextContent("1 registro — vea la documentación del residente");
    expect(within(dialog).getByTestId("sync-details-error")).toHaveTextContent("El servidor pidió a Tend que vaya más despacio.");
    expect(within(dialog).getByTestId("sync-now")).toHaveTextContent("Sincronizar ahora");
    expect(within(dialog).getByRole("button", { name: "Cerrar los detalles de sincronización" })).toBeInTheDocument();
  });
});
