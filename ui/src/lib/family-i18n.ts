// Every word the family kiosk shows, in English and Spanish. Plain words, no clinical
// terms: the people reading them are visitors, often in a hurry or upset. A missing
// translation is a type error, so the two languages cannot drift apart.

import { DOMAIN_RULES } from "./bindings";

export type FamilyLanguage = "en" | "es";

/** Digits of a visitor code (tend-domain `VISITOR_CODE_DIGITS`, via the bindings). */
export const VISITOR_CODE_DIGITS = DOMAIN_RULES.visitor_code_digits;

export interface FamilyStrings {
  /** The language toggle: the name of the *other* language, in that language. */
  switchLanguage: string;
  welcomeTitle: string;
  welcomeLead: string;
  visit: string;
  codeTitle: string;
  codeLead: string;
  codeLabel: string;
  keypadLabel: string;
  deleteDigit: string;
  clearCode: string;
  showVisit: string;
  back: string;
  checking: string;
  wrongCode: string;
  tooManyTries: string;
  offline: string;
  portalOff: string;
  notSetUp: string;
  visitEnded: string;
  somethingWrong: string;
  tryAgain: string;
  dayTitle: (name: string) => string;
  room: (room: string) => string;
  greeting: (visitor: string) => string;
  loadingDay: string;
  today: string;
  noDaySummary: string;
  activities: string;
  noActivities: string;
  fromTheTeam: string;
  noMessages: string;
  leaveMessage: string;
  done: string;
  messageTitle: string;
  messageLead: string;
  messageLabel: string;
  messageHint: (left: number) => string;
  messageEmpty: string;
  send: string;
  sending: string;
  thanksTitle: string;
  thanksLead: string;
  backToDay: string;
  /** For dates and times: the locale to format them in. */
  locale: string;
}

export const FAMILY_STRINGS: Record<FamilyLanguage, FamilyStrings> = {
  en: {
    switchLanguage: "Español",
    welcomeTitle: "Welcome",
    welcomeLead: "Visiting someone? Use the code the staff gave you.",
    visit: "Visit someone",
    codeTitle: "Enter your visitor code",
    codeLead: `The code has ${VISITOR_CODE_DIGITS} numbers. The staff can give you one.`,
    codeLabel: "Visitor code",
    keypadLabel: "Number keys",
    deleteDigit: "Delete",
    clearCode: "Clear",
    showVisit: "Show my visit",
    back: "Back",
    checking: "Checking your code…",
    wrongCode: "That code didn't work. Check it with the staff.",
    tooManyTries: "Too many tries. Please wait a minute, or ask the staff for help.",
    offline: "We can't reach the care team right now. Please try again in a moment.",
    portalOff: "Family visits are not turned on here. Please ask the staff.",
    notSetUp: "This screen isn't set up yet. Please ask the staff.",
    visitEnded: "Your visit on this screen has ended. Enter your code again to continue.",
    somethingWrong: "Something went wrong. Please try again, or ask the staff for help.",
    tryAgain: "Try again",
    dayTitle: (name) => `${name}'s day`,
    room: (room) => `Room ${room}`,
    greeting: (visitor) => `Hello, ${visitor}.`,
    loadingDay: "Getting today's news…",
    today: "Today",
    noDaySummary: "The care team hasn't written about today yet.",
    activities: "Activities",
    noActivities: "No activities shared this week yet.",
    fromTheTeam: "Messages from the care team",
    noMessages: "No messages from the care team this week.",
    leaveMessage: "Leave a message for the team",
    done: "Done",
    messageTitle: "Leave a message for the team",
    messageLead: "The care team will read it. For anything urgent, please speak to the staff.",
    messageLabel: "Your message",
    messageHint: (left) => `${left} characters left`,
    messageEmpty: "Please write a message first.",
    send: "Send message",
    sending: "Sending…",
    thanksTitle: "Thank you",
    thanksLead: "Your message was sent. The care team will read it.",
    backToDay: "Back to the day",
    locale: "en-US",
  },
  es: {
    switchLanguage: "English",
    welcomeTitle: "Bienvenido",
    welcomeLead: "¿Viene de visita? Use el código que le dio el personal.",
    visit: "Visitar a alguien",
    codeTitle: "Escriba su código de visita",
    codeLead: `El código tiene ${VISITOR_CODE_DIGITS} números. El personal le puede dar uno.`,
    codeLabel: "Código de visita",
    keypadLabel: "Teclas de números",
    deleteDigit: "Borrar",
    clearCode: "Limpiar",
    showVisit: "Ver mi visita",
    back: "Atrás",
    checking: "Revisando su código…",
    wrongCode: "Ese código no funcionó. Verifíquelo con el personal.",
    tooManyTries: "Demasiados intentos. Espere un minuto o pida ayuda al personal.",
    offline: "No podemos comunicarnos con el equipo de cuidado ahora. Inténtelo de nuevo en un momento.",
    portalOff: "Las visitas familiares no están activadas aquí. Pregunte al personal.",
    notSetUp: "Esta pantalla todavía no está lista. Pregunte al personal.",
    visitEnded: "Su visita en esta pantalla terminó. Escriba su código otra vez para continuar.",
    somethingWrong: "Algo salió mal. Inténtelo de nuevo o pida ayuda al personal.",
    tryAgain: "Intentar de nuevo",
    dayTitle: (name) => `El día de ${name}`,
    room: (room) => `Habitación ${room}`,
    greeting: (visitor) => `Hola, ${visitor}.`,
    loadingDay: "Buscando las noticias de hoy…",
    today: "Hoy",
    noDaySummary: "El equipo de cuidado todavía no ha escrito sobre hoy.",
    activities: "Actividades",
    noActivities: "Todavía no hay actividades compartidas esta semana.",
    fromTheTeam: "Mensajes del equipo de cuidado",
    noMessages: "No hay mensajes del equipo de cuidado esta semana.",
    leaveMessage: "Dejar un mensaje al equipo",
    done: "Terminar",
    messageTitle: "Dejar un mensaje al equipo",
    messageLead: "El equipo de cuidado lo leerá. Para algo urgente, hable con el personal.",
    messageLabel: "Su mensaje",
    messageHint: (left) => `Quedan ${left} caracteres`,
    messageEmpty: "Primero escriba un mensaje.",
    send: "Enviar mensaje",
    sending: "Enviando…",
    thanksTitle: "Gracias",
    thanksLead: "Su mensaje fue enviado. El equipo de cuidado lo leerá.",
    backToDay: "Volver al día",
    locale: "es-US",
  },
};

/** Longest message the team accepts (tend-domain `FAMILY_TEXT_MAX`, via the bindings). */
export const FAMILY_MESSAGE_MAX = DOMAIN_RULES.text_limits.family_message;
