import { afterEach, describe, expect, it, vi } from "vitest";
import { events, type AppStatus } from "./bindings";
import { StatusPoller } from "./status.svelte";
import { mockCommands, reject } from "../test/ipc";

const OFFLINE: AppStatus = { connection: "offline", server_url: "https://tend.example.org", last_sync: null, pending: 1, language: "en" };
const ONLINE: AppStatus = { ...OFFLINE, connection: "online", pending: 0 };

describe("StatusPoller", () => {
  let poller: StatusPoller | undefined;
  afterEach(() => {
    poller?.stop();
    vi.useRealTimers();
  });

  it("polls appStatus and refreshes at once when the network comes back", async () => {
    vi.useFakeTimers();
    let current = OFFLINE;
    const calls = mockCommands({ app_status: () => current });
    poller = new StatusPoller();

    poller.start(10_000);
    await vi.waitFor(() => expect(poller?.status).toEqual(OFFLINE));
    expect(poller.settled).toBe(true);

    current = ONLINE;
    window.dispatchEvent(new Event("online"));
    await vi.waitFor(() => expect(poller?.status).toEqual(ONLINE));
    expect(calls).toHaveLength(2);

    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(3);

    poller.stop();
    await vi.advanceTimersByTimeAsync(30_000);
    window.dispatchEvent(new Event("online"));
    expect(calls).toHaveLength(3);
  });

  it("keeps the last status and records the error when a refresh fails", async () => {
    let fail = false;
    mockCommands({ app_status: () => (fail ? reject("STORAGE_UNAVAILABLE", "locked") : ONLINE) });
    poller = new StatusPoller();

    await poller.refresh();
    fail = true;
    await poller.refresh();

    expect(poller.status).toEqual(ONLINE);
    expect(poller.error?.code).toBe("STORAGE_UNAVAILABLE");

    fail = false;
    await poller.refresh();
    expect(poller.error).toBeNull();
  });

  it("takes pushed status changes and stops listening when stopped", async () => {
    const calls = mockCommands({ app_status: OFFLINE });
    poller = new StatusPoller();
    poller.start(60_000);
    await vi.waitFor(() => expect(poller?.status).toEqual(OFFLINE));

    await vi.waitFor(async () => {
      await events.appStatusChanged.emit(ONLINE);
      expect(poller?.status).toEqual(ONLINE);
    });
    expect(calls).toEqual(["app_status"]);

    poller.stop();
    await events.appStatusChanged.emit({ ...ONLINE, pending: 9 });
    expect(poller.status).toEqual(ONLINE);
  });

  it("never lets a poll asked before a pushed status replace it", async () => {
    let answer: (status: AppStatus) => void = () => undefined;
    let first = true;
    mockCommands({
      app_status: () => {
        if (!first) return ONLINE;
        first = false;
        return new Promise<AppStatus>((resolve) => (answer = resolve));
      },
    });
    poller = new StatusPoller();
    poller.start(60_000);
    // The push (a language chosen, the connection back) arrives while the first poll waits.
    await vi.waitFor(async () => {
      await events.appStatusChanged.emit({ ...ONLINE, language: "es" });
      expect(poller?.status?.language).toBe("es");
    });
    answer(OFFLINE);
    await new Promise((r) => setTimeout(r, 0));
    expect(poller.status).toEqual({ ...ONLINE, language: "es" });
  });
});
