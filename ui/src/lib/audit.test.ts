import { describe, expect, it } from "vitest";
import { ACTION_FAMILIES, actionLabel, actorLabel } from "./audit";

describe("audit wording", () => {
  it("words known actions and keeps unknown ones readable", () => {
    expect(actionLabel("facility.census.update")).toBe("Updated the census");
    expect(actionLabel("device.offline_login")).toBe("Signed in on a device while offline");
    expect(actionLabel("sync.record_forged")).toContain("wasn't signed in on that device");
    expect(actionLabel("something.new")).toBe("something.new");
  });

  it("says who acted even when the name is out of reach", () => {
    expect(actorLabel({ actor_user_id: 3, actor_name: "Ana Ruiz", actor_device_id: null })).toBe("Ana Ruiz");
    expect(actorLabel({ actor_user_id: 3, actor_name: null, actor_device_id: 9 })).toBe(
      "Staff member #3 (not in your facilities)",
    );
    expect(actorLabel({ actor_user_id: null, actor_name: null, actor_device_id: 9 })).toBe("Device #9");
    expect(actorLabel({ actor_user_id: null, actor_name: null, actor_device_id: null })).toBe("System");
  });

  it("offers only prefixes the core accepts", () => {
    for (const family of ACTION_FAMILIES) expect(family.prefix).toMatch(/^[a-z_.]+$/);
    expect(new Set(ACTION_FAMILIES.map((f) => f.prefix)).size).toBe(ACTION_FAMILIES.length);
  });
});
