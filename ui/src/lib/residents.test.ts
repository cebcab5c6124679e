import { describe, expect, it } from "vitest";
import { dayIn, differences, draftOf, emptyDraft, formField, mayManageResidents, resolve } from "./residents";

describe("dayIn", () => {
  it("is the calendar day in the facility's zone, as YYYY-MM-DD", () => {
    // 03:00 UTC on the 2nd is still the 1st in Chicago.
    expect(dayIn("2026-12-02T03:00:00Z", "America/Chicago")).toBe("2026-12-01");
    expect(dayIn("2026-12-02T03:00:00Z", "Europe/Berlin")).toBe("2026-12-02");
    expect(dayIn("2026-12-02T03:00:00Z", "Not/AZone")).toBe("2026-12-02");
    expect(dayIn(null, "UTC")).toBe("");
    expect(dayIn("garbage", "UTC")).toBe("");
  });
});

describe("conflicts", () => {
  const saved = {
    ...emptyDraft(),
    first_name: "Ada",
    last_name: "Byrne",
    mrn: "M-1",
    date_of_birth: "1941-02-03",
    room: "12B",
    allergies: "Penicillin, sulfa",
    code_status: "dnr" as const,
  };

  it("lists only the fields that differ, in the form's words", () => {
    const mine = { ...saved, room: "14A", allergies: "Penicillin", code_status: "full_code" as const, diet: "  " };
    const rows = differences(mine, saved);
    expect(rows.map((r) => r.field)).toEqual(["room", "allergies", "code_status"]);
    expect(rows[2]).toEqual({ field: "code_status", label: "Code status", mine: "Full code", theirs: "DNR (do not resuscitate)" });
  });

  it("keeps the server's values except the fields the person kept", () => {
    const mine = { ...saved, room: "14A", allergies: "Penicillin" };
    const out = resolve(mine, saved, new Set(["room"] as const));
    expect(out.room).toBe("14A");
    expect(out.allergies).toBe("Penicillin, sulfa");
  });

  it("fills the form from a stored resident, blanks for what is not recorded", () => {
    const draft = draftOf(
      {
        mrn: "M-1",
        first_name: "Ada",
        last_name: "Byrne",
        date_of_birth: "1941-02-03",
        room: null,
        admitted_at: "2026-12-01T06:00:00Z",
        allergies: null,
        code_status: null,
        diet: null,
        fall_risk: "high",
        emergency_contact: { name: "Cora", relationship: null, phone: "503 555 0142" },
      },
      "America/Chicago",
    );
    expect(draft).toMatchObject({ room: "", admission_date: "2026-12-01", fall_risk: "high", contact_name: "Cora", contact_relationship: "" });
  });
});

describe("fields and roles", () => {
  it("maps the API's field names to the form's inputs", () => {
    expect(formField("emergency_contact.phone")).toBe("contact_phone");
    expect(formField("admitted_at")).toBe("admission_date");
    expect(formField("mrn")).toBe("mrn");
    expect(formField("facility_id")).toBeNull();
  });

  it("lets nurses and administrators manage residents, not aides", () => {
    expect(mayManageResidents("RN")).toBe(true);
    expect(mayManageResidents("ORG_ADMIN")).toBe(true);
    expect(mayManageResidents("CNA")).toBe(false);
    expect(mayManageResidents(null)).toBe(false);
  });
});
