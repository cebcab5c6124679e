import { afterEach, describe, expect, it } from "vitest";
import { DOMAIN_RULES, type AdminUser, type BadgeSummary_Serialize, type StaffMember_Serialize } from "./bindings";
import {
  assignableRoles,
  badgeAssignError,
  badgeStatus,
  captureEndedMessage,
  canEditOwnOrganization,
  canManageFacilities,
  canManageOrganizations,
  FACILITY_TYPES,
  FEATURES,
  filterStaff,
  passwordRule,
  pinRules,
  POLICY_GROUPS,
  policyRange,
  ROLES,
} from "./admin-directory";
import { setDeviceLanguage } from "./i18n/index.svelte";

function member(overrides: Partial<StaffMember_Serialize>): StaffMember_Serialize {
  return {
    id: 1,
    facility_id: 10,
    employee_id: "E-1",
    username: "rosa.alvarez",
    full_name: "Rosa Alvarez",
    email: "rosa@example.org",
    role: "RN",
    is_active: true,
    created_at: "2026-01-01T00:00:00Z",
    preferred_language: null,
    ...overrides,
  };
}

const admin = (role: AdminUser["role"]): AdminUser => ({
  user_id: 1,
  username: "a",
  full_name: "A",
  role,
  organization_id: 1,
  facility_id: 10,
  server_url: "https://tend.example.org",
  expires_at: "2030-01-01T00:00:00Z",
});

describe("admin directory wording and rules", () => {
  it("never offers a role above the administrator's own", () => {
    expect(assignableRoles("FACILITY_ADMIN")).not.toContain("ORG_ADMIN");
    expect(assignableRoles("FACILITY_ADMIN")).toContain("FACILITY_ADMIN");
    expect(assignableRoles("ORG_ADMIN")).toContain("ORG_ADMIN");
    expect(assignableRoles("ORG_ADMIN")).not.toContain("PLATFORM_ADMIN");
    expect(assignableRoles("PLATFORM_ADMIN")).toContain("PLATFORM_ADMIN");
    expect(assignableRoles("RN")).toEqual([]);
  });

  it("offers exactly the roles Rust's DOMAIN_RULES lets each role assign", () => {
    for (const grant of DOMAIN_RULES.assignable_roles) {
      expect([...assignableRoles(grant.role)].sort()).toEqual([...grant.assigns].sort());
    }
    expect(pinRules()).toContain(`${DOMAIN_RULES.pin.min_digits} to ${DOMAIN_RULES.pin.max_digits} digits`);
    expect(passwordRule()).toBe(`At least ${DOMAIN_RULES.password.min_length} characters.`);
  });

  it("lets only the roles the server allows manage facilities and organizations", () => {
    expect(canManageFacilities(admin("FACILITY_ADMIN"))).toBe(false);
    expect(canManageFacilities(admin("ORG_ADMIN"))).toBe(true);
    expect(canManageOrganizations(admin("ORG_ADMIN"))).toBe(false);
    expect(canManageOrganizations(admin("PLATFORM_ADMIN"))).toBe(true);
    expect(canEditOwnOrganization(admin("ORG_ADMIN"))).toBe(true);
    expect(canEditOwnOrganization(admin("FACILITY_ADMIN"))).toBe(false);
  });

  it("searches every word across name, username, employee ID and email", () => {
    const staff = [
      member({ id: 1, full_name: "Rosa Alvarez", username: "ralvarez", employee_id: "E-100" }),
      member({ id: 2, full_name: "Ben Okafor", username: "bokafor", employee_id: "E-200", role: "CNA", email: null }),
      member({ id: 3, full_name: "Ann Lee", username: "alee", employee_id: "E-300", is_active: false }),
    ];
    const all = { search: "", role: "" as const, status: "all" as const };
    expect(filterStaff(staff, all).map((m) => m.id)).toEqual([3, 2, 1]);
    expect(filterStaff(staff, { ...all, status: "active" }).map((m) => m.id)).toEqual([2, 1]);
    expect(filterStaff(staff, { ...all, status: "inactive" }).map((m) => m.id)).toEqual([3]);
    expect(filterStaff(staff, { ...all, search: "e-200" }).map((m) => m.id)).toEqual([2]);
    expect(filterStaff(staff, { ...all, search: "rosa  E-100" }).map((m) => m.id)).toEqual([1]);
    expect(filterStaff(staff, { ...all, search: "rosa ben" })).toEqual([]);
    expect(filterStaff(staff, { ...all, role: "CNA" }).map((m) => m.id)).toEqual([2]);
  });

  it("names a badge's state, revoked first", () => {
    const badge: BadgeSummary_Serialize = {
      id: 1,
      user_id: 1,
      label: null,
      is_active: true,
      locked_until: null,
      created_at: "2026-01-01T00:00:00Z",
      revoked_at: null,
      last_used_at: null,
    };
    const now = new Date("2026-06-01T12:00:00Z");
    expect(badgeStatus(badge, now)).toBe("Active");
    expect(badgeStatus({ ...badge, locked_until: "2026-06-01T12:10:00Z" }, now)).toBe("Locked after wrong PINs");
    expect(badgeStatus({ ...badge, locked_until: "2026-06-01T11:00:00Z" }, now)).toBe("Active");
    expect(badgeStatus({ ...badge, is_active: false, locked_until: "2026-06-01T12:10:00Z" }, now)).toBe("Revoked");
  });

  it("explains each feature and the PIN rules in plain words", () => {
    for (const key of ["family_portal", "behavior_tracking", "wandering_alerts"]) {
      const feature = FEATURES.find((f) => f.key === key);
      expect(feature?.explanation.length).toBeGreaterThan(20);
    }
    expect(pinRules()).toMatch(/4 to 8 digits/);
    expect(pinRules()).toMatch(/1234/);
    // A facility's own rule replaces the domain's lengths.
    expect(pinRules({ pin_min_digits: 6, pin_max_digits: 8 })).toMatch(/^6 to 8 digits\./);
    expect(pinRules({ pin_min_digits: 6, pin_max_digits: 6 })).toMatch(/^6 digits\./);
    expect(FEATURES.map((f) => f.key)).toEqual(["family_portal", "behavior_tracking", "wandering_alerts"]);
    // Type and role names are the shared ones (`common.*`, format.ts), not a second copy.
    expect(FACILITY_TYPES.find((o) => o.code === "HOME_HEALTH")?.name).toMatch(/no beds/);
    expect(ROLES.find((r) => r.code === "FACILITY_ADMIN")?.name).toBe("Facility administrator");
  });

  it("says how a tap-to-assign wait ended, with the timeout from Rust, and names a badge someone else holds", () => {
    expect(captureEndedMessage({ outcome: "timed_out", seconds: 60 })).toMatch(/within 60 seconds/);
    expect(captureEndedMessage({ outcome: "cancelled" })).toMatch(/Nothing was assigned/);
    expect(captureEndedMessage({ outcome: "unsupported_card" })).toMatch(/can't be used as a badge/);
    expect(captureEndedMessage({ outcome: "session_ended" })).toMatch(/sign-in ended/);
    expect(badgeAssignError({ code: "CONFLICT", message: "taken" })).toMatch(/already assigned to someone else/);
    expect(badgeAssignError({ code: "OFFLINE", message: "offline" })).toBeUndefined();
  });
});

describe("admin directory wording in Spanish", () => {
  afterEach(() => setDeviceLanguage("en"));

  it("names roles, types, policies and rules in the language shown when asked, not when loaded", () => {
    const rn = ROLES.find((r) => r.code === "RN");
    expect(rn?.name).toBe("Registered nurse (RN)");
    setDeviceLanguage("es");
    expect(rn?.name).toBe("Enfermero/a registrado/a (RN)");
    expect(ROLES.find((r) => r.code === "FACILITY_ADMIN")?.name).toBe("Administrador/a del centro");
    expect(FACILITY_TYPES.find((o) => o.code === "HOME_HEALTH")?.name).toBe("Salud en el hogar (sin camas)");
    expect(FEATURES[0]?.name).toBe("Portal para familiares");
    const pinMin = POLICY_GROUPS.flatMap((g) => g.fields).find((f) => f.key === "pin_min_digits")!;
    expect(POLICY_GROUPS[1]?.title).toBe("Credenciales y PIN");
    expect(policyRange(pinMin)).toBe("De 4 a 8 dígitos (predeterminado: 4).");
    expect(pinRules({ pin_min_digits: 6, pin_max_digits: 6 })).toMatch(/^6 dígitos\. Sin repetir/);
    expect(passwordRule()).toBe(`Al menos ${DOMAIN_RULES.password.min_length} caracteres.`);
    expect(captureEndedMessage({ outcome: "timed_out", seconds: 1 })).toMatch(/^No se acercó ninguna credencial en 1 segundo,/);
    expect(badgeAssignError({ code: "CONFLICT", message: "taken" })).toMatch(/^Esta credencial ya está asignada a otra persona/);
  });
});
