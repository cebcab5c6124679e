import { render, screen, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminUser, AuditEntry_Serialize as AuditEntry, AuditLogQuery_Serialize as AuditLogQuery, DeviceSummary, EnrollmentCodeSummary, FacilitySummary } from "$lib/bindings";
import { setDeviceLanguage } from "$lib/i18n/index.svelte";
import { deviceSummary } from "../test/fixtures";
import { mockCommands, reject } from "../test/ipc";
import AdminScreen from "./AdminScreen.svelte";

const ADMIN: AdminUser = {
  user_id: 7,
  username: "mgarcia",
  full_name: "Maria Garcia",
  role: "FACILITY_ADMIN",
  organization_id: 1,
  facility_id: 10,
  server_url: "https://tend.example.org",
  expires_at: "2030-01-01T00:00:00Z",
};

const FACILITIES: FacilitySummary[] = [
  { id: 10, organization_id: 1, name: "Maple Grove SNF", facility_type: "SNF", is_active: true, timezone: "America/New_York" },
  { id: 11, organization_id: 1, name: "Oak Hill ALF", facility_type: "ALF", is_active: true, timezone: "America/Chicago" },
];

const recent = new Date(Date.now() - 2 * 60_000).toISOString();

function device(overrides: Partial<DeviceSummary>): DeviceSummary {
  return deviceSummary({ last_seen: recent, last_sync: recent, ...overrides });
}

const ACTIVE = device({});
const PENDING = device({
  id: 2,
  device_name: "Hall Kiosk",
  device_type: "RASPBERRY_PI",
  status: "PENDING",
  is_online: false,
  sync_status: "NEVER_SYNCED",
  last_seen: null,
  app_version: null,
  encryption_posture: null,
});

const CODE: EnrollmentCodeSummary = {
  id: 5,
  facility_id: 10,
  code_hint: "WXYZ",
  device_type: null,
  max_uses: 1,
  uses: 0,
  expires_at: new Date(Date.now() + 20 * 3_600_000).toISOString(),
  revoked_at: null,
  created_at: recent,
  is_usable: true,
};

/** The dashboard's answers (its own behaviour is tested in DashboardSection.test.ts). */
const DASHBOARD = {
  admin_facility_dashboard: {
    facility_id: 10,
    current_census: 28,
    licensed_beds: 32,
    occupancy_rate: 87.5,
    available_beds: 4,
    active_devices: 2,
    online_devices: 1,
    devices_with_sync_issues: 1,
    devices_suspected_clones: 0,
    active_staff: 24,
    rn_count: 6,
    break_glass_unreviewed: 0,
    active_residents: 28,
  },
  admin_census_history: { facility_id: 10, days: 30, timezone: "America/Chicago", points: [] },
};

/** Commands of the directory sections (staff, organizations), answered empty here. */
const DIRECTORY = ["admin_users", "admin_organizations"];

/** A signed-in console with one facility's devices and codes. */
function signedIn(extra: Record<string, unknown> = {}, devices: DeviceSummary[] = [ACTIVE, PENDING]): string[] {
  return mockCommands({
    admin_session: ADMIN,
    admin_facilities: FACILITIES,
    admin_devices: devices,
    admin_enrollment_codes: [CODE],
    ...DASHBOARD,
    admin_users: [],
    admin_organizations: [],
    admin_audit_chain: { chains: [], can_verify: false },
    ...extra,
  });
}

describe("AdminScreen", () => {
  it("asks an administrator to sign in first", async () => {
    mockCommands({ admin_session: null });
    render(AdminScreen, { initialSection: "devices" });
    expect(await screen.findByLabelText("Username")).toBe(screen.getByTestId("admin-username"));
    expect(screen.getByLabelText("Password")).toHaveAttribute("type", "password");
  });

  it("says plainly when the password is wrong", async () => {
    const user = userEvent.setup();
    mockCommands({ admin_session: null, admin_login: reject("UNAUTHORIZED", "invalid username or password") });
    render(AdminScreen, { initialSection: "devices" });
    await user.type(await screen.findByTestId("admin-username"), "mgarcia");
    await user.type(screen.getByTestId("admin-password"), "nope");
    await user.click(screen.getByTestId("admin-signin-submit"));
    const error = await screen.findByTestId("admin-signin-error");
    expect(error).toHaveTextContent("Wrong username or password");
    expect(error).not.toHaveTextContent("badge");
    expect(screen.getByTestId("admin-password")).toHaveValue("");
  });

  it("refuses an empty form without calling the server", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({ admin_session: null });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("admin-signin-submit"));
    expect(await screen.findByTestId("admin-signin-error")).toHaveTextContent("Enter your username and password");
    expect(calls).toEqual(["admin_session"]);
  });

  it("explains an account that may not manage devices, and a missing server", async () => {
    const user = userEvent.setup();
    let answer = reject("FORBIDDEN", "this account cannot manage devices");
    mockCommands({ admin_session: null, admin_login: () => answer });
    render(AdminScreen, { initialSection: "devices" });
    await user.type(await screen.findByTestId("admin-username"), "nurse");
    await user.type(screen.getByTestId("admin-password"), "pw");
    await user.click(screen.getByTestId("admin-signin-submit"));
    expect(await screen.findByTestId("admin-signin-error")).toHaveTextContent("This account can't manage devices");
    answer = reject("CONFIG_INVALID", "this device has no server yet; set it up first");
    await user.type(screen.getByTestId("admin-password"), "pw");
    await user.click(screen.getByTestId("admin-signin-submit"));
    expect(await screen.findByTestId("admin-signin-error")).toHaveTextContent("no server yet");
  });

  it("signs in, then lists the first facility's devices in words", async () => {
    const user = userEvent.setup();
    const calls = mockCommands({
      admin_session: null,
      admin_login: (args: Record<string, unknown>) => {
        expect(args).toEqual({ username: "mgarcia", password: "correct horse" });
        return ADMIN;
      },
      admin_facilities: FACILITIES,
      admin_devices: (args: Record<string, unknown>) => (args.facilityId === 10 ? [ACTIVE, PENDING] : []),
      admin_enrollment_codes: [CODE],
      ...DASHBOARD,
    });
    render(AdminScreen, { initialSection: "devices" });
    await user.type(await screen.findByTestId("admin-username"), " mgarcia ");
    await user.type(screen.getByTestId("admin-password"), "correct horse{Enter}");

    const table = await screen.findByRole("table", { name: "Devices of this facility" });
    expect(screen.getByTestId("admin-user")).toHaveTextContent("Maria Garcia");
    const active = within(table).getByTestId("device-row-1");
    expect(active).toHaveTextContent("Nurse Station 1");
    expect(active).toHaveTextContent("Online");
    expect(active).toHaveTextContent("Up to date");
    expect(active).toHaveTextContent("2 minutes ago");
    expect(active).toHaveTextContent("0.1.0");
    expect(active).toHaveTextContent("Encrypted (key in the system keyring)");
    const pending = within(table).getByTestId("device-row-2");
    expect(pending).toHaveTextContent("Waiting for approval");
    expect(pending).toHaveTextContent("Offline");
    expect(pending).toHaveTextContent("Never synced");
    expect(pending).toHaveTextContent("never");
    expect(pending).toHaveTextContent("Not reported yet");
    expect(within(table).getAllByRole("columnheader").map((h) => h.textContent?.trim())).toContain("Last seen");
    expect(screen.queryByTestId("clone-alert")).not.toBeInTheDocument();
    expect(calls).toContain("admin_enrollment_codes");

    // Another facility: its (empty) device list.
    await user.selectOptions(screen.getByTestId("facility-picker"), "11");
    expect(await screen.findByText("No devices in this facility yet")).toBeInTheDocument();
  });

  it("opens on the dashboard; staff follow the picked facility; facilities have their own section", async () => {
    const user = userEvent.setup();
    const asked: unknown[] = [];
    signedIn({
      admin_users: (args: Record<string, unknown>) => {
        asked.push(args.facilityId);
        return [];
      },
    });
    render(AdminScreen);
    expect(await screen.findByRole("region", { name: "Dashboard" })).toBeInTheDocument();
    expect(screen.getByTestId("section-overview")).toHaveAttribute("aria-current", "page");
    await user.click(await screen.findByTestId("section-people"));
    const people = await screen.findByRole("region", { name: "Staff, badges and PINs" });
    expect(await within(people).findByText("No staff in this facility yet")).toBeInTheDocument();
    await user.selectOptions(screen.getByTestId("facility-picker"), "11");
    await within(people).findByText("No staff in this facility yet");
    expect(asked).toEqual([10, 11]);
    await user.click(screen.getByTestId("section-facilities"));
    const directory = await screen.findByRole("region", { name: "Organizations and facilities" });
    expect(await within(directory).findByTestId("facility-row-11")).toHaveTextContent("Oak Hill ALF");
    // A facility administrator is offered nothing the server would refuse.
    expect(within(directory).queryByTestId("facility-add")).toBeNull();
    expect(screen.queryByTestId("section-import")).toBeNull();
    expect(screen.queryByRole("region", { name: "Staff, badges and PINs" })).toBeNull();
  });

  it("offers an organization administrator the import of CSV files", async () => {
    const user = userEvent.setup();
    signedIn({ admin_session: { ...ADMIN, role: "ORG_ADMIN" } });
    render(AdminScreen);
    await user.click(await screen.findByTestId("section-import"));
    const section = await screen.findByRole("region", { name: "Import from CSV files" });
    expect(within(section).getByLabelText("Residents CSV")).toHaveAttribute("type", "file");
    expect(within(section).getByTestId("import-run")).toBeDisabled();
  });

  it("approves and rejects a waiting device", async () => {
    const user = userEvent.setup();
    const calls = signedIn({
      admin_approve_device: (args: Record<string, unknown>) => ({ ...PENDING, id: Number(args.deviceId), status: "ACTIVE" }),
      admin_reject_device: { ...PENDING, status: "REJECTED" },
    });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByRole("button", { name: "Approve Hall Kiosk" }));
    expect(await screen.findByTestId("admin-notice")).toHaveTextContent("“Hall Kiosk” is approved.");
    await user.click(screen.getByRole("button", { name: "Reject Hall Kiosk" }));
    expect(await screen.findByTestId("admin-notice")).toHaveTextContent("is rejected");
    expect(calls.filter((c) => c !== "admin_devices" && c !== "admin_enrollment_codes" && !(c in DASHBOARD))).toEqual([
      "admin_session",
      "admin_facilities",
      "admin_approve_device",
      "admin_reject_device",
    ]);
  });

  it("asks before deactivating, and says the device will erase its data", async () => {
    const user = userEvent.setup();
    const calls = signedIn({ admin_deactivate_device: { ...ACTIVE, status: "DEACTIVATED" } });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("device-deactivate-1"));
    const dialog = screen.getByRole("alertdialog", { name: "Deactivate “Nurse Station 1”?" });
    expect(dialog).toHaveTextContent("erase all of its local data");
    expect(screen.getByTestId("deactivate-confirm")).toHaveFocus();
    await user.click(screen.getByTestId("deactivate-cancel"));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(calls).not.toContain("admin_deactivate_device");

    await user.click(screen.getByTestId("device-deactivate-1"));
    await user.click(screen.getByTestId("deactivate-confirm"));
    expect(await screen.findByTestId("admin-notice")).toHaveTextContent("is deactivated");
    expect(calls).toContain("admin_deactivate_device");
  });

  it("shows why an action failed", async () => {
    const user = userEvent.setup();
    signedIn({ admin_approve_device: reject("CONFLICT", "only a PENDING device that enrolled a key can be approved") });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("device-approve-2"));
    expect(await screen.findByTestId("device-action-error")).toHaveTextContent("only a PENDING device");
  });

  it("flags a suspected clone with what to do", async () => {
    signedIn({}, [device({ clone_suspected_at: recent }), PENDING]);
    render(AdminScreen, { initialSection: "devices" });
    const alert = await screen.findByTestId("clone-alert");
    expect(alert).toHaveAttribute("role", "alert");
    expect(alert).toHaveTextContent("Possible cloned device: Nurse Station 1");
    expect(alert).toHaveTextContent("What to do");
    expect(screen.getByTestId("clone-flag-1")).toHaveTextContent("Possible clone since 2 minutes ago");
  });

  it("marks an unencrypted device when policy requires encryption", async () => {
    signedIn({}, [device({ encryption_posture: "none", sync_status: "OUT_OF_SYNC" })]);
    render(AdminScreen, { initialSection: "devices" });
    const row = await screen.findByTestId("device-row-1");
    expect(row).toHaveTextContent("Not encrypted — required by policy");
    expect(row).toHaveTextContent("Out of sync");
  });

  it("registers a device and marks each field the backend refused", async () => {
    const user = userEvent.setup();
    let answer: unknown = reject("VALIDATION_FAILED", "some fields are not valid");
    const sent: unknown[] = [];
    signedIn({
      admin_register_device: (args: Record<string, unknown>) => {
        sent.push(args.device);
        return answer;
      },
    });
    const { container } = render(AdminScreen, { initialSection: "devices" });
    await screen.findByTestId("devices-table");
    (answer as { error: { fields?: Record<string, string[]> } }).error.fields = {
      device_uuid: ['"abc" is not a UUID (expected 550e8400-e29b-41d4-a716-446655440000)'],
      mac_address: ["a MAC address is six pairs of hex digits, like b8:27:eb:12:34:56"],
    };
    await user.type(screen.getByTestId("register-name"), "Med cart");
    await user.selectOptions(screen.getByTestId("register-type"), "TABLET");
    await user.type(screen.getByTestId("register-uuid"), "abc");
    await user.type(screen.getByTestId("register-mac"), "zz");
    await user.click(screen.getByTestId("register-submit"));

    expect(await screen.findByTestId("register-uuid-error")).toHaveTextContent("is not a UUID");
    expect(screen.getByTestId("register-uuid")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("register-uuid")).toHaveAccessibleDescription(/is not a UUID/);
    expect(screen.getByTestId("register-mac-error")).toHaveTextContent("six pairs");
    expect(screen.queryByTestId("register-error")).not.toBeInTheDocument();
    expect(sent[0]).toEqual({
      facility_id: 10,
      device_name: "Med cart",
      device_type: "TABLET",
      device_uuid: "abc",
      mac_address: "zz",
    });

    answer = device({ id: 3, device_name: "Med cart", device_type: "TABLET" });
    await user.clear(screen.getByTestId("register-uuid"));
    await user.type(screen.getByTestId("register-uuid"), "4c4c4544-0042-3510-8052-b4c04f4e4d33");
    await user.clear(screen.getByTestId("register-mac"));
    await user.click(screen.getByTestId("register-submit"));
    expect(await screen.findByTestId("register-ok")).toHaveTextContent("“Med cart” is registered");
    expect(screen.queryByTestId("register-uuid-error")).not.toBeInTheDocument();
    expect(sent[1]).toMatchObject({ mac_address: null });
    expect(container.querySelectorAll("[aria-invalid=true]")).toHaveLength(0);
  });

  it("shows a failure that names no form field as a general error", async () => {
    const user = userEvent.setup();
    signedIn({ admin_register_device: reject("OFFLINE", "the server cannot be reached") });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("register-submit"));
    expect(await screen.findByTestId("register-error")).toHaveTextContent("offline");
  });

  it("creates a code, shows it once in groups, and revokes codes", async () => {
    const user = userEvent.setup();
    const created = {
      code: "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-WXYZ",
      enrollment_code: { ...CODE, id: 6, max_uses: 3 },
    };
    let revoked: unknown = null;
    const calls = signedIn({
      admin_create_enrollment_code: (args: Record<string, unknown>) => {
        expect(args).toEqual({ facilityId: 10, expiresInHours: 48, maxUses: 3, deviceType: null });
        return created;
      },
      admin_revoke_enrollment_code: (args: Record<string, unknown>) => {
        revoked = args;
        return { ...CODE, revoked_at: recent, is_usable: false };
      },
    });
    render(AdminScreen, { initialSection: "devices" });
    const table = await screen.findByRole("table", { name: "Enrollment codes of this facility" });
    expect(within(table).getByTestId("code-row-5")).toHaveTextContent("…WXYZ");
    expect(within(table).getByTestId("code-row-5")).toHaveTextContent("0 of 1");
    expect(within(table).getByTestId("code-state-5")).toHaveTextContent("Usable");

    await user.clear(screen.getByTestId("code-hours"));
    await user.type(screen.getByTestId("code-hours"), "48");
    await user.clear(screen.getByTestId("code-uses"));
    await user.type(screen.getByTestId("code-uses"), "3");
    await user.click(screen.getByTestId("code-create"));

    const shown = await screen.findByTestId("new-code");
    expect(shown).toHaveTextContent("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-WXYZ");
    expect(shown.querySelectorAll(".group")).toHaveLength(8);
    const panel = screen.getByTestId("new-code-panel");
    expect(panel).toHaveTextContent("won't be shown again");
    expect(panel).toHaveTextContent("for 3 devices");
    await user.click(screen.getByTestId("new-code-done"));
    expect(screen.queryByTestId("new-code")).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Revoke the code ending with WXYZ" }));
    expect(revoked).toEqual({ facilityId: 10, codeId: 5 });
    expect(calls.filter((c) => c === "admin_enrollment_codes").length).toBeGreaterThanOrEqual(3);
  });

  it("copies a new code, or says how to copy it by hand", async () => {
    const user = userEvent.setup();
    signedIn({ admin_create_enrollment_code: { code: "ABCD-EFGH", enrollment_code: CODE } });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("code-create"));
    await user.click(await screen.findByTestId("new-code-copy"));
    expect(await navigator.clipboard.readText()).toBe("ABCD-EFGH");
    expect(screen.getByTestId("new-code-copy")).toHaveTextContent("Copied");
  });

  it("checks the code options before asking the server", async () => {
    const user = userEvent.setup();
    const calls = signedIn();
    render(AdminScreen, { initialSection: "devices" });
    await user.clear(await screen.findByTestId("code-hours"));
    await user.type(screen.getByTestId("code-hours"), "soon");
    await user.click(screen.getByTestId("code-create"));
    expect(await screen.findByTestId("code-hours-error")).toHaveTextContent("whole number of hours");
    expect(screen.queryByTestId("code-uses-error")).not.toBeInTheDocument();
    expect(calls).not.toContain("admin_create_enrollment_code");
  });

  it("shows the server's refusal of code options next to the field", async () => {
    const user = userEvent.setup();
    signedIn({
      admin_create_enrollment_code: () => {
        const r = reject("VALIDATION_FAILED", "invalid fields");
        r.error.fields = { max_uses: ["must be between 1 and 1000"] };
        return r;
      },
    });
    render(AdminScreen, { initialSection: "devices" });
    await user.clear(await screen.findByTestId("code-uses"));
    await user.type(screen.getByTestId("code-uses"), "5000");
    await user.click(screen.getByTestId("code-create"));
    expect(await screen.findByTestId("code-uses-error")).toHaveTextContent("between 1 and 1000");
  });

  it("offers to retry when the facilities can't be loaded", async () => {
    const user = userEvent.setup();
    let answer: unknown = reject("OFFLINE", "the server cannot be reached");
    mockCommands({ admin_session: ADMIN, admin_facilities: () => answer, admin_devices: [], admin_enrollment_codes: [], ...DASHBOARD });
    render(AdminScreen, { initialSection: "devices" });
    const error = await screen.findByTestId("admin-load-error");
    expect(error).toHaveTextContent("offline");
    answer = FACILITIES;
    await user.click(within(error).getByRole("button", { name: "Try again" }));
    expect(await screen.findByTestId("facility-picker")).toBeInTheDocument();
    expect(screen.queryByTestId("admin-load-error")).not.toBeInTheDocument();
  });

  it("refreshes the devices on request", async () => {
    const user = userEvent.setup();
    let devices = [ACTIVE];
    signedIn({ admin_devices: () => devices });
    render(AdminScreen, { initialSection: "devices" });
    await screen.findByTestId("device-row-1");
    expect(screen.queryByTestId("device-row-2")).not.toBeInTheDocument();
    devices = [ACTIVE, PENDING];
    await user.click(screen.getByTestId("devices-refresh"));
    expect(await screen.findByTestId("device-row-2")).toHaveTextContent("Waiting for approval");
  });

  it("says when there is no facility to manage", async () => {
    mockCommands({ admin_session: ADMIN, admin_facilities: [] });
    render(AdminScreen, { initialSection: "devices" });
    expect(await screen.findByText("No facilities to manage")).toBeInTheDocument();
  });

  it("returns to sign-in when the session has ended", async () => {
    signedIn({ admin_devices: reject("UNAUTHORIZED", "authentication required") });
    render(AdminScreen, { initialSection: "devices" });
    expect(await screen.findByTestId("admin-username")).toBeInTheDocument();
    expect(screen.queryByTestId("admin-user")).not.toBeInTheDocument();
  });

  it("signs out", async () => {
    const user = userEvent.setup();
    const calls = signedIn({ admin_logout: null });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("admin-signout"));
    expect(await screen.findByTestId("admin-username")).toBeInTheDocument();
    expect(calls).toContain("admin_logout");
  });

  it("marks a facility other than the administrator's own as a cross-facility view", async () => {
    const user = userEvent.setup();
    signedIn({ admin_session: { ...ADMIN, role: "ORG_ADMIN" } });
    render(AdminScreen, { initialSection: "devices" });
    const picker = await screen.findByLabelText("Switch facility");
    expect(screen.queryByTestId("cross-facility-banner")).toBeNull();
    await user.selectOptions(picker, "11");
    const banner = await screen.findByTestId("cross-facility-banner");
    expect(banner).toHaveTextContent("Outside your facility");
    expect(banner).toHaveTextContent("Oak Hill ALF, not Maple Grove SNF");
    expect(banner).toHaveTextContent("recorded in the audit log");
    await user.selectOptions(picker, "10");
    expect(screen.queryByTestId("cross-facility-banner")).toBeNull();
  });

  it("shows the audit log in words, highlights cross-facility access and filters", async () => {
    const user = userEvent.setup();
    const queries: AuditLogQuery[] = [];
    const entry = (over: Partial<AuditEntry>): AuditEntry => ({
      id: 1,
      at: recent,
      actor_user_id: 7,
      actor_name: "Maria Garcia",
      actor_device_id: null,
      facility_id: 10,
      facility_name: "Maple Grove SNF",
      action: "facility.census.update",
      resource_type: "facility",
      resource_id: 10,
      denied: false,
      cross_facility: false,
      reason: null,
      ...over,
    });
    signedIn({
      admin_session: { ...ADMIN, role: "ORG_ADMIN" },
      admin_audit_log: (args: Record<string, unknown>) => {
        const query = args.query as AuditLogQuery;
        queries.push(query);
        if (query.action_prefix === "badge.") return { items: [], next_cursor: null };
        if (query.cursor) return { items: [entry({ id: 1, action: "auth.login" })], next_cursor: null };
        return {
          items: [
            entry({ id: 3, actor_user_id: 8, actor_name: "Sam Lee", action: "patient.read", cross_facility: true, facility_id: 11, facility_name: "Oak Hill ALF" }),
            entry({ id: 2 }),
          ],
          next_cursor: "c1",
        };
      },
    });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("section-audit"));
    const rows = await screen.findAllByTestId("audit-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]!).toHaveTextContent("Viewed a resident");
    expect(within(rows[0]!).getByTestId("cross-facility-tag")).toHaveTextContent("Cross-facility access");
    expect(rows[1]!).toHaveTextContent("Updated the census");
    expect(within(rows[1]!).queryByTestId("cross-facility-tag")).toBeNull();
    expect(queries[0]).toMatchObject({ facility_id: 10, actor_user_id: null, action_prefix: null, cross_facility_only: false });

    // Older events append.
    await user.click(screen.getByTestId("audit-more"));
    await screen.findByText("Signed in with a password");
    expect(queries[queries.length - 1]?.cursor).toBe("c1");

    // One person's actions, then back to everyone.
    await user.click(within(screen.getAllByTestId("audit-row")[0]!).getByRole("button", { name: "Sam Lee" }));
    expect(await screen.findByTestId("audit-person")).toHaveTextContent("Only actions by Sam Lee");
    expect(queries[queries.length - 1]).toMatchObject({ actor_user_id: 8, cursor: null });
    await user.click(screen.getByRole("button", { name: "Show everyone" }));

    // Every facility, cross-facility only; an empty result says so.
    await user.selectOptions(screen.getByTestId("audit-scope"), "all");
    await user.click(screen.getByTestId("audit-cross-only"));
    expect(queries[queries.length - 1]).toMatchObject({ facility_id: null, cross_facility_only: true, actor_user_id: null });
    await user.selectOptions(screen.getByTestId("audit-family"), "badge.");
    expect(await screen.findByText("Nothing recorded for these filters")).toBeInTheDocument();
  });

  it("explains an audit log that can't be loaded and retries", async () => {
    const user = userEvent.setup();
    let answer: unknown = reject("OFFLINE", "the server can't be reached");
    signedIn({ admin_audit_log: () => answer });
    render(AdminScreen, { initialSection: "devices" });
    await user.click(await screen.findByTestId("section-audit"));
    expect(await screen.findByTestId("audit-error")).toHaveTextContent("The audit log couldn't be loaded");
    // A facility administrator has no "every facility" choice.
    expect(screen.queryByTestId("audit-scope")).toBeNull();
    answer = { items: [], next_cursor: null };
    await user.click(within(screen.getByTestId("audit-error")).getByRole("button"));
    expect(await screen.findByText("Nothing recorded for these filters")).toBeInTheDocument();
  });
});


describe("AdminScreen in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("shows the console, its sections, devices and enrollment codes in Spanish", async () => {
    const user = userEvent.setup();
    setDeviceLanguage("es");
    signedIn({ admin_approve_device: { ...PENDING, status: "ACTIVE" }, admin_create_enrollment_code: { code: "ABCD-EFGH", enrollment_code: CODE } });
    render(AdminScreen, { initialSection: "devices" });
    expect(await screen.findByTestId("admin-user")).toHaveTextContent("Sesión iniciada como Maria Garcia (mgarcia)");
    expect(screen.getByRole("button", { name: "Cerrar sesión" })).toBeInTheDocument();
    const nav = await screen.findByRole("navigation", { name: "Secciones de la consola" });
    expect(within(nav).getByRole("button", { name: "Panel" })).toBeInTheDocument();
    expect(within(nav).getByRole("button", { name: "Dispositivos" })).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("heading", { name: "Códigos de inscripción" })).toBeInTheDocument();
    expect(await screen.findByTestId("device-status-2")).toHaveTextContent("Esperando aprobación");
    expect(screen.getByLabelText("UUID de hardware")).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "Quiosco de pared (Raspberry Pi)" })).toBeInTheDocument();
    const codes = await screen.findByRole("table", { name: "Códigos de inscripción de este centro" });
    expect(within(codes).getByTestId("code-state-5")).toHaveTextContent("Se puede usar");
    expect(within(codes).getByTestId("code-row-5")).toHaveTextContent("0 de 1");
    expect(within(codes).getByTestId("code-row-5")).toHaveTextContent(/en (19|20) horas/);

    await user.click(screen.getByRole("button", { name: "Aprobar Hall Kiosk" }));
    expect(await screen.findByTestId("admin-notice")).toHaveTextContent("«Hall Kiosk» está aprobado.");

    await user.clear(screen.getByTestId("code-hours"));
    await user.type(screen.getByTestId("code-hours"), "pronto");
    await user.click(screen.getByTestId("code-create"));
    expect(await screen.findByTestId("code-hours-error")).toHaveTextContent("escriba un número entero de horas, de 1 a 720");
    await user.clear(screen.getByTestId("code-hours"));
    await user.type(screen.getByTestId("code-hours"), "24");
    await user.click(screen.getByTestId("code-create"));
    expect(await screen.findByTestId("new-code-panel")).toHaveTextContent(/Vence en (19|20) horas, para un dispositivo\./);
    // The dashboard is one click away, in Spanish too.
    await user.click(within(nav).getByRole("button", { name: "Panel" }));
    expect(await screen.findByRole("heading", { name: "Panel" })).toBeInTheDocument();
  });
});
