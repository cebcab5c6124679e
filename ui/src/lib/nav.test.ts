import { describe, expect, it } from "vitest";
import { navRoutes, type NavContext } from "./nav";

const ids = (context: NavContext) => navRoutes(context).map((route) => route.id);

describe("navRoutes", () => {
  it("offers setup only until the device is enrolled", () => {
    expect(ids({ profile: "desktop", enrolled: false, signedIn: false })).toEqual(["setup", "lock", "admin", "family", "about"]);
    expect(ids({ profile: "desktop", enrolled: true, signedIn: false })).toEqual(["lock", "admin", "family", "about"]);
  });

  it("offers the residents only to a signed-in user, and sign-in only to nobody", () => {
    expect(ids({ profile: "desktop", enrolled: true, signedIn: true })).toEqual(["home", "admin", "family", "about", "patients"]);
  });

  it("keeps an enrolled kiosk to what a kiosk needs: sign-in or the residents, family, about", () => {
    expect(ids({ profile: "kiosk", enrolled: true, signedIn: false })).toEqual(["lock", "family", "about"]);
    expect(ids({ profile: "kiosk", enrolled: true, signedIn: true })).toEqual(["home", "family", "about", "patients"]);
  });

  it("still offers setup on a kiosk that is not enrolled yet", () => {
    expect(ids({ profile: "kiosk", enrolled: false, signedIn: false })).toEqual(["setup", "lock", "family", "about"]);
  });

  it("treats a device whose profile is not known yet as a desktop", () => {
    expect(ids({ profile: null, enrolled: true, signedIn: false })).toEqual(["lock", "admin", "family", "about"]);
  });
});
