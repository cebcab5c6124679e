// Types every `t("…")` key against the English dictionary.
import "i18next";
import type { Dictionary } from "./resources";

declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: { translation: Dictionary };
    returnNull: false;
  }
}
