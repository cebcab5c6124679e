// Wording for sync and connection state, kept out of components so it can be tested alone.

import type { AppStatus, ConnectionState, ErrorCode, HeldNotice } from "./bindings";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "Synced just now", "Synced 5 minutes ago", … or "Never synced". */
export function formatLastSync(lastSync: string | null, now: Date = new Date()): string {
  if (!lastSync) return "Never synced";
  const at = new Date(lastSync);
  if (Number.isNaN(at.getTime())) return "Last sync time unknown";
  const age = now.getTime() - at.getTime();
  // A clock a little ahead of the server still reads as "just now".
  if (age < MINUTE) return "Synced just now";
  if (age < HOUR) return `Synced ${plural(Math.floor(age / MINUTE), "minute")} ago`;
  if (age < DAY) return `Synced ${plural(Math.floor(age / HOUR), "hour")} ago`;
  const date = at.toLocaleDateString("en-US", { month: "short", day: "numeric" });
  const time = at.toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });
  return `Synced ${date}, ${time}`;
}

/** "Nothing waiting to sync" or "3 changes waiting to sync". */
export function formatPending(pending: number): string {
  if (!Number.isFinite(pending) || pending <= 0) return "Nothing waiting to sync";
  return `${plural(pending, "change")} waiting to sync`;
}

export function connectionLabel(connection: ConnectionState): string {
  switch (connection) {
    case "online":
      return "Online";
    case "offline":
      return "Offline";
    case "not_configured":
      return "Not connected to a server yet";
  }
}

/** The host of a server URL for compact display, or the URL itself when it doesn't parse. */
export function serverHost(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/**
 * What the status bar says when the server ended this device's enrollment without a
 * signed order: the device is locked, nothing was deleted, and an administrator can
 * take it back (re-adopt it) by its hardware ID.
 */
export function heldMessage(held: HeldNotice): { title: string; detail: string } {
  const what =
    held.code === "DEVICE_UNKNOWN"
      ? "The server no longer recognises this device"
      : held.code === "DEVICE_REJECTED"
        ? "The server answered that this device was rejected, without a signed order"
        : "The server answered that this device was deactivated, without a signed order";
  const why =
    held.reason === "unsigned" || held.code === "DEVICE_UNKNOWN"
      ? ""
      : held.reason === "no_pinned_key"
        ? " (this device has no server key to check it with)"
        : " (the order did not come from this device's server)";
  return {
    title: "Device locked — nothing was deleted",
    detail: `${what}${why}. Notes not yet synced are kept on this device. Ask an administrator to re-adopt device ${held.device_uuid}.`,
  };
}

/** A device-level alert the status bar shows above everything else. */
export interface DeviceAlert {
  testid: string;
  code: ErrorCode | null;
  title: string;
  detail: string;
}

/**
 * What stops this device from working normally, in the order the status bar shows it:
 * a vault waiting for the server's part of its key, an enrollment the server ended
 * without a signed order, a closed facility (its words come from the core).
 */
export function deviceAlerts(status: AppStatus | null): DeviceAlert[] {
  const alerts: DeviceAlert[] = [];
  if (status?.vault === "waiting_for_network") {
    alerts.push({
      testid: "status-vault-waiting",
      code: null,
      title: "Locked until the server can be reached",
      detail: "This device's records are protected by a key the server holds; it unlocks by itself when the network is back.",
    });
  }
  if (status?.held) {
    alerts.push({ testid: "status-held", code: status.held.code, ...heldMessage(status.held) });
  }
  if (status?.closed) {
    alerts.push({
      testid: "status-closed",
      code: status.closed.code,
      title: status.closed.message,
      detail: "Nothing on this device was deleted.",
    });
  }
  return alerts;
}
