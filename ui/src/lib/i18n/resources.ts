// The dictionaries, one JSON file per part of the app and language. English is the
// reference: its shape types every key, and Spanish must have the same shape.

import enAbout from "./locales/en/about.json";
import enCommon from "./locales/en/common.json";
import enConsole from "./locales/en/console.json";
import enDirectory from "./locales/en/directory.json";
import enErrors from "./locales/en/errors.json";
import enFamily from "./locales/en/family.json";
import enHome from "./locales/en/home.json";
import enLock from "./locales/en/lock.json";
import enNurse from "./locales/en/nurse.json";
import enResidents from "./locales/en/residents.json";
import enSetup from "./locales/en/setup.json";
import enStatus from "./locales/en/status.json";
import esAbout from "./locales/es/about.json";
import esCommon from "./locales/es/common.json";
import esConsole from "./locales/es/console.json";
import esDirectory from "./locales/es/directory.json";
import esErrors from "./locales/es/errors.json";
import esFamily from "./locales/es/family.json";
import esHome from "./locales/es/home.json";
import esLock from "./locales/es/lock.json";
import esNurse from "./locales/es/nurse.json";
import esResidents from "./locales/es/residents.json";
import esSetup from "./locales/es/setup.json";
import esStatus from "./locales/es/status.json";

export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

export const english = {
  about: enAbout,
  common: enCommon,
  console: enConsole,
  directory: enDirectory,
  errors: enErrors,
  family: enFamily,
  home: enHome,
  lock: enLock,
  nurse: enNurse,
  residents: enResidents,
  setup: enSetup,
  status: enStatus,
};

export type Dictionary = typeof english;

// Typed as the English shape: a key missing in Spanish does not compile.
export const spanish: Dictionary = {
  about: esAbout,
  common: esCommon,
  console: esConsole,
  directory: esDirectory,
  errors: esErrors,
  family: esFamily,
  home: esHome,
  lock: esLock,
  nurse: esNurse,
  residents: esResidents,
  setup: esSetup,
  status: esStatus,
};

export const resources: Record<Language, { translation: Record<string, unknown> }> = {
  en: { translation: english },
  es: { translation: spanish },
};
