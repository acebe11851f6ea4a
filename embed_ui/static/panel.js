/* Countersign agent panel: the contracts of a Zendesk ticket or Salesforce record, and "Send
 * contract" from a template, inside the CRM's sidebar or record page.
 *
 * Talks to the REST API with the short-lived panel token (docs/agent-panel.md). No libraries, no
 * build step, no inline code: the page's CSP allows only this file. Every node is built with the
 * DOM API; the preview's HTML (escaped by the server) is parsed with DOMParser and its nodes are
 * appended.
 */
(function () {
  "use strict";

  var API = "/api/v1";
  var POLL_MS = 5000;
  var CHECK_DELAY_MS = 300;
  var PREVIEW_DELAY_MS = 300;
  var REFRESH_BEFORE_MS = 5 * 60 * 1000;
  var REFRESH_RETRY_MS = 30 * 1000;
  var REQUEST_TIMEOUT_MS = 30 * 1000;
  var MAX_TIMER_MS = 2147483647;
  var VOID_MAX = 1000;
  var SIGNING_TYPES = ["signature", "initials", "date_signed", "name_signed"];
  var FINISHED = ["signed", "declined"];
  var CURRENCY_SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", INR: "₹" };
  var SYSTEMS = { zendesk: "Zendesk", salesforce: "Salesforce" };

  var STRINGS = {
    en: {
      loading: "Loading…",
      zendeskTicket: "Zendesk ticket",
      salesforceRecord: "Salesforce {object}",
      record: "Record",
      signedInAs: "Signed in as {name}",
      envelopesTicket: "Contracts on this ticket",
      envelopesRecord: "Contracts on this record",
      liveHint: "Updates automatically.",
      noEnvelopes: "No contracts yet. Send one below.",
      envelopesFailed: "The contracts could not be loaded: {reason}",
      statusDraft: "Draft",
      statusSent: "Sent",
      statusViewed: "Viewed",
      statusSigned: "Signed",
      statusCompleted: "Completed",
      statusDeclined: "Declined",
      statusVoided: "Voided",
      statusExpired: "Expired",
      statusWaiting: "Waiting",
      statusCc: "Gets a copy",
      statusLabel: "Status: {status}",
      sentOn: "Sent {date}",
      completedOn: "Completed {date}",
      voidedOn: "Voided {date}",
      expiresOn: "Expires {date}",
      voidReason: "Reason: {reason}",
      declineReason: "Declined: {reason}",
      recipientsOf: "Recipients of {title}",
      orderLabel: "Signing order {n}",
      crmError: "{system} was not updated: {error}",
      remind: "Remind",
      reminding: "Reminding…",
      reminded: "Reminder sent to {n}.",
      remindedNone: "No one to remind by email: embedded recipients sign through a link from here.",
      void: "Void",
      voidTitle: "Void “{title}”",
      voidReasonLabel: "Reason for voiding",
      voidHint: "The recipients are told, and every signing link stops working.",
      voidRequired: "Say why you void this contract.",
      voidTooLong: "Use 1000 characters or fewer.",
      voidConfirm: "Void contract",
      voiding: "Voiding…",
      voided: "“{title}” was voided.",
      cancel: "Cancel",
      copyLink: "Copy signing link",
      copyLinkFor: "Copy signing link for {name}",
      copying: "Getting link…",
      copied: "Signing link for {name} copied. It works once, for 5 minutes.",
      linkBoxLabel: "Signing link for {name} (works once, for 5 minutes). Copy it from here:",
      linkBoxHint: "Your browser did not let the panel use the clipboard.",
      close: "Close",
      download: "Download PDF",
      downloadFor: "Download PDF of {title}",
      downloading: "Downloading…",
      downloaded: "The PDF was downloaded.",
      changed: "{title}: {status}",
      sendTitle: "Send contract",
      template: "Template",
      chooseTemplate: "Choose a template…",
      noTemplates: "No templates are available to you. Ask an admin to share one with your team.",
      templatesFailed: "The templates could not be loaded: {reason}",
      loadingTemplate: "Loading the template…",
      prefillFailed: "Nothing was filled in from {system}: {reason}",
      detailsTitle: "Contract details",
      requiredNote: "Fields marked * are required.",
      required: "required",
      choose: "Choose…",
      yes: "Yes",
      from: "from {system}: {path}",
      locked: "Locked",
      noRecord: "Open Countersign from a ticket to send a contract.",
      lockedHint: "Set by your organization; it cannot be changed here.",
      calculated: "Calculated",
      calculatedHint: "Calculated: {formula}",
      notCalculated: "—",
      recipientsTitle: "Recipients",
      recipientsHint: "They sign in this order.",
      signs: "signs",
      approves: "approves",
      name: "Name",
      email: "Email",
      delivery: "Delivery",
      deliveryEmail: "By email",
      deliveryEmbedded: "Embedded",
      deliveryEmailHint: "An invitation by email",
      deliveryEmbeddedHint: "No email: copy a signing link from here",
      fromRequester: "The ticket's requester",
      fromContact: "The record's contact",
      preview: "Preview",
      previewLabel: "Preview of the document",
      previewWaiting: "The preview appears when the values are valid.",
      previewLoading: "Updating the preview…",
      openPdf: "Open PDF preview",
      openingPdf: "Preparing the PDF…",
      pdfReady: "The PDF preview is ready.",
      pdfLink: "Open the PDF preview",
      newTab: "(opens in a new tab)",
      send: "Send contract",
      sending: "Sending…",
      sentOk: "Contract “{title}” sent.",
      checkFields: "Check the highlighted fields.",
      fieldRequired: "{label} is required.",
      enterName: "Enter a name.",
      notEmail: "Enter an email address, such as name@example.com.",
      notNumber: "Enter a number, such as 12 or 12.50.",
      atLeast: "{label} must be {n} or more.",
      atMost: "{label} must be {n} or less.",
      tooLong: "{label} must be {n} characters or fewer.",
      mustEmail: "{label} must be an email address, such as name@example.com.",
      mustPhone: "{label} must be a phone number, such as +1 555 010 0199.",
      mustDate: "{label} must be a date.",
      mustNumber: "{label} must be a number.",
      badFormat: "{label} does not have the expected format.",
      notOption: "{label}: choose one of the options.",
      sessionEnded: "Your session ended — reopen the ticket.",
      sessionEndedRecord: "Your session ended — reopen the record.",
      sessionEndedHint: "The panel works only while the CRM keeps it open; reopening it starts a new session.",
      network: "We could not reach Countersign. Check your connection and try again.",
      failed: "Something went wrong (error {status}). Try again in a moment.",
    },
    es: {
      loading: "Cargando…",
      zendeskTicket: "Ticket de Zendesk",
      salesforceRecord: "{object} de Salesforce",
      record: "Registro",
      signedInAs: "Sesión de {name}",
      envelopesTicket: "Contratos de este ticket",
      envelopesRecord: "Contratos de este registro",
      liveHint: "Se actualiza automáticamente.",
      noEnvelopes: "Todavía no hay contratos. Envíe uno abajo.",
      envelopesFailed: "No se pudieron cargar los contratos: {reason}",
      statusDraft: "Borrador",
      statusSent: "Enviado",
      statusViewed: "Visto",
      statusSigned: "Firmado",
      statusCompleted: "Completado",
      statusDeclined: "Rechazado",
      statusVoided: "Anulado",
      statusExpired: "Caducado",
      statusWaiting: "En espera",
      statusCc: "Recibe copia",
      statusLabel: "Estado: {status}",
      sentOn: "Enviado el {date}",
      completedOn: "Completado el {date}",
      voidedOn: "Anulado el {date}",
      expiresOn: "Caduca el {date}",
      voidReason: "Motivo: {reason}",
      declineReason: "Rechazado: {reason}",
      recipientsOf: "Destinatarios de {title}",
      orderLabel: "Orden de firma {n}",
      crmError: "No se actualizó {system}: {error}",
      remind: "Recordar",
      reminding: "Recordando…",
      reminded: "Recordatorio enviado a {n}.",
      remindedNone: "Nadie a quien recordar por correo: los destinatarios integrados firman con un enlace de aquí.",
      void: "Anular",
      voidTitle: "Anular «{title}»",
      voidReasonLabel: "Motivo de la anulación",
      voidHint: "Se avisa a los destinatarios y todos los enlaces de firma dejan de funcionar.",
      voidRequired: "Indique por qué anula este contrato.",
      voidTooLong: "Use 1000 caracteres como máximo.",
      voidConfirm: "Anular contrato",
      voiding: "Anulando…",
      voided: "Se anuló «{title}».",
      cancel: "Cancelar",
      copyLink: "Copiar enlace de firma",
      copyLinkFor: "Copiar enlace de firma de {name}",
      copying: "Obteniendo enlace…",
      copied: "Enlace de firma de {name} copiado. Funciona una vez, durante 5 minutos.",
      linkBoxLabel: "Enlace de firma de {name} (funciona una vez, durante 5 minutos). Cópielo desde aquí:",
      linkBoxHint: "Su navegador no permitió al panel usar el portapapeles.",
      close: "Cerrar",
      download: "Descargar PDF",
      downloadFor: "Descargar PDF de {title}",
      downloading: "Descargando…",
      downloaded: "Se descargó el PDF.",
      changed: "{title}: {status}",
      sendTitle: "Enviar contrato",
      template: "Plantilla",
      chooseTemplate: "Elija una plantilla…",
      noTemplates: "No tiene plantillas disponibles. Pida a un administrador que comparta una con su equipo.",
      templatesFailed: "No se pudieron cargar las plantillas: {reason}",
      loadingTemplate: "Cargando la plantilla…",
      prefillFailed: "No se rellenó nada desde {system}: {reason}",
      detailsTitle: "Datos del contrato",
      requiredNote: "Los campos marcados con * son obligatorios.",
      required: "obligatorio",
      choose: "Elija…",
      yes: "Sí",
      from: "de {system}: {path}",
      locked: "Bloqueado",
      noRecord: "Abra Countersign desde un ticket para enviar un contrato.",
      lockedHint: "Lo fija su organización; no se puede cambiar aquí.",
      calculated: "Calculado",
      calculatedHint: "Calculado: {formula}",
      notCalculated: "—",
      recipientsTitle: "Destinatarios",
      recipientsHint: "Firman en este orden.",
      signs: "firma",
      approves: "aprueba",
      name: "Nombre",
      email: "Correo electrónico",
      delivery: "Entrega",
      deliveryEmail: "Por correo",
      deliveryEmbedded: "Integrada",
      deliveryEmailHint: "Una invitación por correo",
      deliveryEmbeddedHint: "Sin correo: copie un enlace de firma desde aquí",
      fromRequester: "El solicitante del ticket",
      fromContact: "El contacto del registro",
      preview: "Vista previa",
      previewLabel: "Vista previa del documento",
      previewWaiting: "La vista previa aparece cuando los valores son válidos.",
      previewLoading: "Actualizando la vista previa…",
      openPdf: "Abrir vista previa en PDF",
      openingPdf: "Preparando el PDF…",
      pdfReady: "La vista previa en PDF está lista.",
      pdfLink: "Abrir la vista previa en PDF",
      newTab: "(se abre en una pestaña nueva)",
      send: "Enviar contrato",
      sending: "Enviando…",
      sentOk: "Contrato «{title}» enviado.",
      checkFields: "Revise los campos marcados.",
      fieldRequired: "{label} es obligatorio.",
      enterName: "Escriba un nombre.",
      notEmail: "Escriba un correo electrónico, como nombre@ejemplo.com.",
      notNumber: "Escriba un número, como 12 o 12.50.",
      atLeast: "{label} debe ser {n} o más.",
      atMost: "{label} debe ser {n} o menos.",
      tooLong: "{label} debe tener {n} caracteres como máximo.",
      mustEmail: "{label} debe ser un correo electrónico, como nombre@ejemplo.com.",
      mustPhone: "{label} debe ser un número de teléfono, como +34 600 000 000.",
      mustDate: "{label} debe ser una fecha.",
      mustNumber: "{label} debe ser un número.",
      badFormat: "{label} no tiene el formato esperado.",
      notOption: "{label}: elija una de las opciones.",
      sessionEnded: "Su sesión terminó: vuelva a abrir el ticket.",
      sessionEndedRecord: "Su sesión terminó: vuelva a abrir el registro.",
      sessionEndedHint: "El panel funciona solo mientras el CRM lo mantiene abierto; al volver a abrirlo empieza una sesión nueva.",
      network: "No pudimos conectar con Countersign. Compruebe su conexión e inténtelo de nuevo.",
      failed: "Algo ha fallado (error {status}). Inténtelo de nuevo en un momento.",
    },
  };

  // ---------------------------------------------------------------- DOM helpers

  /** h("p", {class: "x"}, "text", child, [more]) — attributes are set after the children. */
  function h(tag, props) {
    var el = document.createElement(tag);
    for (var i = 2; i < arguments.length; i++) appendChild(el, arguments[i]);
    if (props) {
      Object.keys(props).forEach(function (name) {
        var value = props[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "class") el.className = value;
        else if (name === "text") el.textContent = value;
        else if (name.indexOf("on") === 0) el.addEventListener(name.slice(2), value);
        else if (name === "value" || name === "checked" || name === "disabled" || name === "readOnly") {
          el[name] = value;
        } else el.setAttribute(name, value === true ? "" : String(value));
      });
    }
    return el;
  }

  function appendChild(parent, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) {
        appendChild(parent, c);
      });
      return;
    }
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }

  function $(id) {
    return document.getElementById(id);
  }

  // ---------------------------------------------------------------- page state

  var root = $("panel");
  var view = $("panel-view");
  var alertBox = $("panel-alert");
  var statusBox = $("panel-status");
  var header = $("panel-header");

  function readContext() {
    try {
      var parsed = JSON.parse((root && root.getAttribute("data-context")) || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (ignored) {
      return {};
    }
  }

  var context = readContext();
  var state = {
    token: root ? root.getAttribute("data-token") || "" : "",
    expiresAt: context.expires_at || null,
    ended: false,
    role: (context.user && context.user.role) || "agent",
    envelopes: null, // the last list, newest first
    cards: {}, // envelope id -> {el, body, extras, sig, status}
    listLoading: false,
    pollTimer: null,
    refreshTimer: null,
    templates: [],
    form: null,
  };

  // ---------------------------------------------------------------- language and text

  function languageOf(tag) {
    tag = String(tag || "").toLowerCase();
    if (tag === "es" || tag.indexOf("es-") === 0 || tag.indexOf("es_") === 0) return "es";
    if (tag === "en" || tag.indexOf("en-") === 0 || tag.indexOf("en_") === 0) return "en";
    return null;
  }

  function chooseLanguage() {
    var fromContext = languageOf(context.locale);
    if (fromContext) return fromContext;
    var list = navigator.languages && navigator.languages.length
      ? navigator.languages
      : [navigator.language || "en"];
    for (var i = 0; i < list.length; i++) {
      var lang = languageOf(list[i]);
      if (lang) return lang;
    }
    return "en";
  }

  var LANG = chooseLanguage();
  var TEXT = STRINGS[LANG];

  function t(key, vars) {
    var text = TEXT[key] !== undefined ? TEXT[key] : STRINGS.en[key];
    if (vars) {
      text = text.replace(/\{(\w+)\}/g, function (all, name) {
        return vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : all;
      });
    }
    return text;
  }

  function systemName(system) {
    return SYSTEMS[system] || String(system || "");
  }

  function isTicket() {
    return context.system === "zendesk";
  }

  function formatDate(iso, dateOnly) {
    if (!iso) return "";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso);
    try {
      var style = dateOnly ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
      return new Intl.DateTimeFormat(LANG, style).format(date);
    } catch (ignored) {
      return date.toLocaleString();
    }
  }

  function humanize(key) {
    var text = String(key || "").replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // ---------------------------------------------------------------- API

  function ApiError(status, detail, errors) {
    this.status = status;
    this.detail = detail;
    this.errors = errors || [];
  }

  /** Calls the API as the panel's user. options: {blob: true, headers: {...}}. */
  function api(method, path, body, options) {
    options = options || {};
    if (state.ended) return Promise.reject(new ApiError(401, null, []));
    var init = {
      method: method,
      headers: {
        Accept: options.blob ? "application/pdf, application/problem+json" : "application/json, application/problem+json",
        Authorization: "Bearer " + state.token,
      },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    };
    Object.keys(options.headers || {}).forEach(function (name) {
      init.headers[name] = options.headers[name];
    });
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    // A request that hangs must not stall the polling for good.
    var timer = null;
    if (typeof AbortController === "function") {
      var controller = new AbortController();
      init.signal = controller.signal;
      timer = setTimeout(function () {
        controller.abort();
      }, REQUEST_TIMEOUT_MS);
    }
    return fetch(API + path, init).then(
      function (response) {
        clearTimeout(timer);
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && options.blob) {
          return response.blob().then(function (blob) {
            return { blob: blob, disposition: response.headers.get("Content-Disposition") || "" };
          });
        }
        var parsed = type.indexOf("json") >= 0
          ? response.json().catch(function () {
            return {};
          })
          : Promise.resolve({});
        return parsed.then(function (payload) {
          if (response.ok) return payload;
          var error = new ApiError(response.status, payload.detail || payload.title, payload.errors);
          if (response.status === 401) sessionEnded();
          throw error;
        });
      },
      function () {
        clearTimeout(timer);
        throw new ApiError(0, null, []);
      }
    );
  }

  function errorText(error) {
    if (!(error instanceof ApiError)) return t("failed", { status: "?" });
    if (error.status === 0) return t("network");
    if (error.detail) return error.detail;
    return t("failed", { status: error.status });
  }

  function newKey() {
    var cryptoObj = window.crypto;
    if (cryptoObj && typeof cryptoObj.randomUUID === "function") return cryptoObj.randomUUID();
    var bytes = new Uint8Array(16);
    cryptoObj.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  // ---------------------------------------------------------------- messages and busy buttons

  function showAlert(message) {
    alertBox.textContent = "";
    if (message) alertBox.appendChild(h("p", { class: "panel-alert-text" }, message));
  }

  var announceTimer = null;
  function announce(message) {
    // Clear first so the same sentence twice is announced twice.
    statusBox.textContent = "";
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      statusBox.textContent = message;
    }, 50);
  }

  function busy(button, text) {
    var label = button.textContent;
    button.disabled = true;
    button.setAttribute("aria-disabled", "true");
    button.textContent = text;
    return function () {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      button.textContent = label;
    };
  }

  /** Focus without scrolling the CRM's page: only the panel's own document scrolls. */
  function focusInPanel(el) {
    if (!el) return;
    try {
      el.focus({ preventScroll: true });
    } catch (ignored) {
      el.focus();
    }
    var rect = el.getBoundingClientRect();
    var margin = 12;
    if (rect.top < margin) window.scrollBy(0, rect.top - margin);
    else if (rect.bottom > window.innerHeight - margin) {
      window.scrollBy(0, Math.min(rect.top - margin, rect.bottom - window.innerHeight + margin));
    }
  }

  function icon(name) {
    return h("span", { class: "icon icon-" + name, "aria-hidden": "true" });
  }

  // ---------------------------------------------------------------- session

  function sessionEnded() {
    if (state.ended) return;
    state.ended = true;
    clearInterval(state.pollTimer);
    clearTimeout(state.refreshTimer);
    if (state.form) clearFormTimers(state.form);
    var title = h(
      "h2",
      { id: "ended-title", class: "panel-title", tabindex: "-1" },
      isTicket() ? t("sessionEnded") : t("sessionEndedRecord")
    );
    showAlert("");
    view.textContent = "";
    view.appendChild(
      h(
        "section",
        { class: "panel-card panel-fatal", role: "alert", "aria-labelledby": "ended-title" },
        title,
        h("p", { class: "hint" }, t("sessionEndedHint"))
      )
    );
    root.setAttribute("aria-busy", "false");
    focusInPanel(title);
  }

  function scheduleRefresh(delay) {
    clearTimeout(state.refreshTimer);
    if (state.ended) return;
    if (delay === undefined) {
      var at = Date.parse(state.expiresAt || "");
      if (isNaN(at)) return;
      delay = at - REFRESH_BEFORE_MS - Date.now();
    }
    state.refreshTimer = setTimeout(refreshToken, Math.min(Math.max(delay, 0), MAX_TIMER_MS));
  }

  function refreshToken() {
    if (state.ended) return;
    api("POST", "/panel/refresh").then(
      function (result) {
        if (result && result.token) {
          state.token = result.token;
          state.expiresAt = result.expires_at || null;
          root.setAttribute("data-token", result.token);
        }
        scheduleRefresh();
      },
      function (error) {
        if (state.ended) return;
        // A network blip or a busy server: try again while the token still lives.
        var at = Date.parse(state.expiresAt || "");
        if (!isNaN(at) && at <= Date.now()) {
          sessionEnded();
          return;
        }
        if (error.status !== 401) scheduleRefresh(REFRESH_RETRY_MS);
      }
    );
  }

  /** Timers sleep in hidden tabs: when the panel shows again, catch up. */
  function refreshIfDue() {
    var at = Date.parse(state.expiresAt || "");
    if (!isNaN(at) && at - REFRESH_BEFORE_MS <= Date.now()) refreshToken();
  }

  // ---------------------------------------------------------------- header

  function renderHeader() {
    var user = context.user || {};
    var kind = isTicket()
      ? t("zendeskTicket")
      : context.system === "salesforce"
        ? t("salesforceRecord", { object: context.object || t("record") })
        : t("record");
    header.textContent = "";
    appendChild(header, [
      h("p", { class: "panel-kicker" }, h("span", { class: "panel-brand" }, "Countersign"), " · ", kind),
      h("h1", { class: "panel-record" }, context.record_label || context.record_id || ""),
      user.name ? h("p", { class: "panel-user" }, t("signedInAs", { name: user.name })) : null,
    ]);
    header.hidden = false;
    document.title = (context.record_label ? context.record_label + " – " : "") + "Countersign";
  }

  // ---------------------------------------------------------------- 1. the record's envelopes

  var listSection;
  var listEl;
  var listEmpty;
  var listError;

  function envelopeSection() {
    listEl = h("ul", { class: "envelope-list", id: "envelope-list" });
    listEmpty = h("p", { class: "hint", id: "envelopes-empty", hidden: true }, t("noEnvelopes"));
    listError = h("p", { class: "panel-warning", id: "envelopes-error", hidden: true });
    listSection = h(
      "section",
      { class: "panel-card", id: "envelopes", "aria-labelledby": "envelopes-title", "aria-busy": "true" },
      h(
        "div",
        { class: "panel-card-head" },
        h("h2", { id: "envelopes-title", class: "panel-title" }, isTicket() ? t("envelopesTicket") : t("envelopesRecord")),
        h("span", { class: "panel-live", "aria-hidden": "true" }, h("span", { class: "panel-live-dot" }), t("liveHint"))
      ),
      listError,
      listEmpty,
      listEl
    );
    return listSection;
  }

  function mine(envelope) {
    var crm = envelope.crm;
    if (!crm) return false;
    if (context.system && crm.system !== context.system) return false;
    return String(crm.record_id) === String(context.record_id);
  }

  function loadEnvelopes() {
    if (state.ended || state.listLoading) return Promise.resolve();
    state.listLoading = true;
    var query = "?crm_record_id=" + encodeURIComponent(String(context.record_id || "")) + "&limit=50";
    return api("GET", "/envelopes" + query).then(
      function (result) {
        state.listLoading = false;
        listError.hidden = true;
        renderEnvelopes((result.items || []).filter(mine));
      },
      function (error) {
        state.listLoading = false;
        if (state.ended) return;
        listError.textContent = t("envelopesFailed", { reason: errorText(error) });
        listError.hidden = false;
        listSection.setAttribute("aria-busy", "false");
      }
    );
  }

  function envelopeStatusText(status) {
    var key = {
      draft: "statusDraft",
      sent: "statusSent",
      completed: "statusCompleted",
      declined: "statusDeclined",
      voided: "statusVoided",
      expired: "statusExpired",
    }[status];
    return key ? t(key) : humanize(status);
  }

  function recipientStatus(recipient) {
    if (recipient.kind === "cc") return ["cc", t("statusCc")];
    var status = recipient.status;
    if (status === "created") return ["waiting", t("statusWaiting")];
    if (status === "sent" || status === "delivered") return ["sent", t("statusSent")];
    if (status === "viewed") return ["viewed", t("statusViewed")];
    if (status === "signed") return ["signed", t("statusSigned")];
    if (status === "declined") return ["declined", t("statusDeclined")];
    return [String(status || "unknown"), humanize(status)];
  }

  function badge(kind, text) {
    return h("span", { class: "badge badge-" + kind }, text);
  }

  function upsertEnvelope(envelope) {
    var list = (state.envelopes || []).filter(function (e) {
      return e.id !== envelope.id;
    });
    list.unshift(envelope);
    list.sort(function (a, b) {
      return String(b.created_at || "").localeCompare(String(a.created_at || ""));
    });
    renderEnvelopes(list);
  }

  function replaceEnvelope(envelope) {
    var list = (state.envelopes || []).map(function (e) {
      return e.id === envelope.id ? envelope : e;
    });
    renderEnvelopes(list);
  }

  function renderEnvelopes(list) {
    var previous = state.envelopes;
    state.envelopes = list;
    listSection.setAttribute("aria-busy", "false");
    listEmpty.hidden = list.length > 0;

    var seen = {};
    var changes = [];
    list.forEach(function (envelope) {
      seen[envelope.id] = true;
      var card = state.cards[envelope.id];
      if (!card) {
        card = createCard(envelope);
        state.cards[envelope.id] = card;
      } else if (card.sig !== JSON.stringify(envelope)) {
        if (previous) changes = changes.concat(changesOf(card.envelope, envelope));
        fillCard(card, envelope);
      }
    });
    Object.keys(state.cards).forEach(function (id) {
      if (!seen[id]) {
        state.cards[id].el.remove();
        delete state.cards[id];
      }
    });
    if (changes.length) announce(changes.join(" "));
    // Put the cards in order, moving only those out of place (a moved node loses focus).
    list.forEach(function (envelope, index) {
      var el = state.cards[envelope.id].el;
      if (listEl.children[index] !== el) listEl.insertBefore(el, listEl.children[index] || null);
    });
  }

  /** Sentences for a screen reader: who signed, and the envelope's new status. */
  function changesOf(before, after) {
    var sentences = [];
    var old = {};
    (before.recipients || []).forEach(function (r) {
      old[r.id] = recipientStatus(r)[1];
    });
    (after.recipients || []).forEach(function (r) {
      var now = recipientStatus(r)[1];
      if (old[r.id] && old[r.id] !== now) sentences.push(t("changed", { title: r.name, status: now }) + ".");
    });
    if (before.status !== after.status) {
      sentences.push(t("changed", { title: after.subject, status: envelopeStatusText(after.status) }) + ".");
    }
    return sentences;
  }

  function createCard(envelope) {
    var card = {
      el: h("li", { class: "envelope", "data-envelope": envelope.id }),
      body: h("div", { class: "envelope-body" }),
      extras: h("div", { class: "envelope-extras" }),
      note: h("p", { class: "envelope-note", role: "status" }),
      voidForm: null,
      linkBoxes: {},
      sig: "",
      status: "",
      envelope: envelope,
    };
    card.el.appendChild(card.body);
    card.el.appendChild(card.note);
    card.el.appendChild(card.extras);
    fillCard(card, envelope);
    return card;
  }

  /** Draws the card's changing part again, keeping focus on the same control. */
  function fillCard(card, envelope) {
    var active = document.activeElement;
    var focusKey = active && card.body.contains(active) ? active.getAttribute("data-focus") : null;

    if (card.status && card.status !== envelope.status) cardNote(card, "");
    card.envelope = envelope;
    card.sig = JSON.stringify(envelope);
    card.status = envelope.status;
    card.el.className = "envelope envelope-" + envelope.status;
    card.body.textContent = "";
    appendChild(card.body, envelopeBody(card, envelope));

    var open = envelope.status === "sent";
    if (card.voidForm && !open) {
      card.voidForm.remove();
      card.voidForm = null;
    }
    Object.keys(card.linkBoxes).forEach(function (rid) {
      var recipient = (envelope.recipients || []).filter(function (r) {
        return r.id === rid;
      })[0];
      if (!open || !recipient || FINISHED.indexOf(recipient.status) >= 0) {
        card.linkBoxes[rid].remove();
        delete card.linkBoxes[rid];
      }
    });
    if (focusKey) {
      var again = card.body.querySelector('[data-focus="' + focusKey + '"]');
      focusInPanel(again && !again.disabled ? again : card.heading);
    }
  }

  function envelopeBody(card, envelope) {
    var title = envelope.subject || "";
    var headingId = "envelope-title-" + envelope.id;
    card.heading = h("h3", { class: "envelope-title", id: headingId, tabindex: "-1" }, title);
    var meta = [];
    if (envelope.status === "completed" && envelope.completed_at) {
      meta.push(t("completedOn", { date: formatDate(envelope.completed_at) }));
    } else if (envelope.status === "voided" && envelope.voided_at) {
      meta.push(t("voidedOn", { date: formatDate(envelope.voided_at) }));
    } else if (envelope.sent_at) {
      meta.push(t("sentOn", { date: formatDate(envelope.sent_at) }));
    }
    if (envelope.status === "sent" && envelope.expires_at) {
      meta.push(t("expiresOn", { date: formatDate(envelope.expires_at, true) }));
    }
    var open = envelope.status === "sent";
    var writer = state.role !== "compliance";

    var recipients = (envelope.recipients || []).slice().sort(function (a, b) {
      return (a.routing_order || 0) - (b.routing_order || 0);
    });

    return [
      h(
        "div",
        { class: "envelope-head" },
        card.heading,
        h(
          "span",
          { class: "envelope-status" },
          h("span", { class: "visually-hidden" }, t("statusLabel", { status: "" })),
          badge(envelope.status, envelopeStatusText(envelope.status))
        )
      ),
      meta.length ? h("p", { class: "envelope-meta" }, meta.join(" · ")) : null,
      envelope.void_reason && envelope.status === "voided"
        ? h("p", { class: "envelope-meta" }, t("voidReason", { reason: envelope.void_reason }))
        : null,
      envelope.crm_error
        ? h(
          "p",
          { class: "panel-warning envelope-crm-error" },
          icon("warning"),
          h("span", null, t("crmError", { system: systemName(envelope.crm && envelope.crm.system), error: envelope.crm_error }))
        )
        : null,
      h(
        "ol",
        { class: "recipient-list", "aria-label": t("recipientsOf", { title: title }) },
        recipients.map(function (recipient) {
          var status = recipientStatus(recipient);
          var canCopy = open && writer && recipient.kind !== "cc" && FINISHED.indexOf(recipient.status) < 0;
          return h(
            "li",
            { class: "recipient", "data-recipient": recipient.id },
            h(
              "span",
              { class: "recipient-order", title: t("orderLabel", { n: recipient.routing_order }) },
              h("span", { class: "visually-hidden" }, t("orderLabel", { n: "" })),
              String(recipient.routing_order || "")
            ),
            h(
              "div",
              { class: "recipient-main" },
              h(
                "p",
                { class: "recipient-who" },
                h("span", { class: "recipient-name" }, recipient.name),
                " ",
                h("span", { class: "recipient-role" }, humanize(recipient.role))
              ),
              h("p", { class: "recipient-email" }, recipient.email),
              recipient.status === "declined" && recipient.decline_reason
                ? h("p", { class: "recipient-note" }, t("declineReason", { reason: recipient.decline_reason }))
                : null,
              canCopy
                ? h(
                  "button",
                  {
                    type: "button",
                    class: "link-button recipient-copy",
                    "data-focus": "copy-" + recipient.id,
                    "aria-label": t("copyLinkFor", { name: recipient.name }),
                    onclick: function (event) {
                      copyLink(card, recipient, event.currentTarget);
                    },
                  },
                  icon("link"),
                  t("copyLink")
                )
                : null
            ),
            badge(status[0], status[1])
          );
        })
      ),
      h(
        "div",
        { class: "envelope-actions" },
        open && writer
          ? h(
            "button",
            {
              type: "button",
              class: "button button-secondary button-small",
              "data-focus": "remind",
              onclick: function (event) {
                remind(card, event.currentTarget);
              },
            },
            t("remind")
          )
          : null,
        open && writer
          ? h(
            "button",
            {
              type: "button",
              class: "button button-secondary button-small button-danger-outline",
              "data-focus": "void",
              "aria-expanded": card.voidForm ? "true" : "false",
              "aria-controls": "void-form-" + envelope.id,
              onclick: function (event) {
                toggleVoid(card, event.currentTarget);
              },
            },
            t("void")
          )
          : null,
        h(
          "button",
          {
            type: "button",
            class: "button button-secondary button-small",
            "data-focus": "download",
            "aria-label": t("downloadFor", { title: title }),
            onclick: function (event) {
              download(card, event.currentTarget);
            },
          },
          icon("download"),
          t("download")
        )
      ),
    ];
  }

  function cardNote(card, message, kind) {
    card.note.className = "envelope-note" + (kind ? " envelope-note-" + kind : "");
    card.note.textContent = message || "";
  }

  // ---- remind

  function remind(card, button) {
    var done = busy(button, t("reminding"));
    cardNote(card, "");
    api("POST", "/envelopes/" + encodeURIComponent(card.envelope.id) + "/remind").then(
      function (result) {
        done();
        var count = (result.reminded || []).length;
        cardNote(card, count ? t("reminded", { n: count }) : t("remindedNone"), "ok");
        loadEnvelopes();
      },
      function (error) {
        done();
        if (!state.ended) cardNote(card, errorText(error), "error");
      }
    );
  }

  // ---- void, in a small inline form

  function toggleVoid(card, opener) {
    if (card.voidForm) {
      card.voidForm.remove();
      card.voidForm = null;
      opener.setAttribute("aria-expanded", "false");
      return;
    }
    var envelope = card.envelope;
    var id = "void-reason-" + envelope.id;
    var errorId = id + "-error";
    var reason = h("textarea", {
      id: id,
      name: "reason",
      rows: "2",
      maxlength: String(VOID_MAX),
      "aria-required": "true",
      "aria-describedby": id + "-hint " + errorId,
    });
    var error = h("p", { id: errorId, class: "field-error" });
    var confirm = h("button", { type: "submit", class: "button button-danger button-small" }, t("voidConfirm"));
    var cancel = h("button", { type: "button", class: "button button-secondary button-small" }, t("cancel"));
    var form = h(
      "form",
      { class: "void-form", id: "void-form-" + envelope.id, novalidate: true, "aria-label": t("voidTitle", { title: envelope.subject }) },
      h(
        "div",
        { class: "panel-field" },
        h("label", { for: id }, t("voidReasonLabel"), requiredMark()),
        h("p", { class: "hint", id: id + "-hint" }, t("voidHint")),
        reason,
        error
      ),
      h("div", { class: "panel-actions" }, confirm, cancel)
    );
    function close() {
      form.remove();
      card.voidForm = null;
      var button = card.body.querySelector('[data-focus="void"]');
      if (button) {
        button.setAttribute("aria-expanded", "false");
        focusInPanel(button);
      }
    }
    reason.addEventListener("input", function () {
      error.textContent = "";
      reason.removeAttribute("aria-invalid");
    });
    reason.addEventListener("keydown", function (event) {
      if (event.key === "Escape") close();
    });
    cancel.addEventListener("click", close);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = reason.value.trim();
      var problem = !text ? t("voidRequired") : text.length > VOID_MAX ? t("voidTooLong") : "";
      if (problem) {
        error.textContent = problem;
        reason.setAttribute("aria-invalid", "true");
        focusInPanel(reason);
        return;
      }
      var done = busy(confirm, t("voiding"));
      api("POST", "/envelopes/" + encodeURIComponent(envelope.id) + "/void", { reason: text }).then(
        function (updated) {
          form.remove();
          card.voidForm = null;
          announce(t("voided", { title: envelope.subject }));
          replaceEnvelope(updated);
          focusInPanel(card.heading);
        },
        function (err) {
          done();
          if (state.ended) return;
          var message = err.status === 422 && err.errors.length ? err.errors[0].message || errorText(err) : errorText(err);
          error.textContent = message;
          reason.setAttribute("aria-invalid", "true");
        }
      );
    });
    card.voidForm = form;
    card.extras.insertBefore(form, card.extras.firstChild);
    opener.setAttribute("aria-expanded", "true");
    focusInPanel(reason);
  }

  // ---- copy a signing link

  function writeClipboard(text) {
    if (!navigator.clipboard || typeof navigator.clipboard.writeText !== "function") {
      return Promise.reject(new Error("no clipboard"));
    }
    try {
      return navigator.clipboard.writeText(text);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  function copyLink(card, recipient, button) {
    var done = busy(button, t("copying"));
    cardNote(card, "");
    var path = "/envelopes/" + encodeURIComponent(card.envelope.id) + "/recipients/" +
      encodeURIComponent(recipient.id) + "/signing-url";
    api("POST", path, {}).then(
      function (result) {
        done();
        var url = result.url || "";
        writeClipboard(url).then(
          function () {
            if (card.linkBoxes[recipient.id]) {
              card.linkBoxes[recipient.id].remove();
              delete card.linkBoxes[recipient.id];
            }
            cardNote(card, t("copied", { name: recipient.name }), "ok");
            announce(t("copied", { name: recipient.name }));
          },
          function () {
            showLinkBox(card, recipient, url);
          }
        );
      },
      function (error) {
        done();
        if (!state.ended) cardNote(card, errorText(error), "error");
      }
    );
  }

  function showLinkBox(card, recipient, url) {
    var id = "link-" + recipient.id;
    if (card.linkBoxes[recipient.id]) card.linkBoxes[recipient.id].remove();
    var input = h("input", {
      type: "text",
      id: id,
      class: "link-box-input",
      value: url,
      readOnly: true,
      spellcheck: "false",
      "aria-describedby": id + "-hint",
    });
    var closeButton = h("button", { type: "button", class: "button button-secondary button-small" }, t("close"));
    var box = h(
      "div",
      { class: "link-box", "data-link-for": recipient.id },
      h("label", { for: id }, t("linkBoxLabel", { name: recipient.name })),
      input,
      h("p", { class: "hint", id: id + "-hint" }, t("linkBoxHint")),
      h("div", { class: "panel-actions" }, closeButton)
    );
    input.addEventListener("focus", function () {
      input.select();
    });
    closeButton.addEventListener("click", function () {
      box.remove();
      delete card.linkBoxes[recipient.id];
      focusInPanel(card.body.querySelector('[data-focus="copy-' + recipient.id + '"]'));
    });
    card.linkBoxes[recipient.id] = box;
    card.extras.appendChild(box);
    focusInPanel(input);
    input.select();
  }

  // ---- download the PDF with the token in the header

  function filenameFrom(disposition, fallback) {
    var match = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
    if (match) {
      try {
        return decodeURIComponent(match[1]);
      } catch (ignored) {
        /* fall through */
      }
    }
    match = /filename="?([^";]+)"?/i.exec(disposition || "");
    return match ? match[1] : fallback;
  }

  function saveBlob(blob, filename) {
    var url = URL.createObjectURL(blob);
    var link = h("a", { href: url, download: filename, class: "visually-hidden" }, filename);
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 60 * 1000);
  }

  function download(card, button) {
    var envelope = card.envelope;
    var done = busy(button, t("downloading"));
    api("GET", "/envelopes/" + encodeURIComponent(envelope.id) + "/document", undefined, { blob: true }).then(
      function (result) {
        done();
        saveBlob(result.blob, filenameFrom(result.disposition, (envelope.subject || envelope.id) + ".pdf"));
        announce(t("downloaded"));
      },
      function (error) {
        done();
        if (!state.ended) cardNote(card, errorText(error), "error");
      }
    );
  }

  // ---------------------------------------------------------------- 2. send a contract

  var sendSection;
  var picker;
  var formHost;

  function sendSectionNode() {
    picker = h("select", { id: "template-picker", name: "template", disabled: true }, h("option", { value: "" }, t("loading")));
    formHost = h("div", { id: "send-form-host" });
    sendSection = h(
      "section",
      { class: "panel-card", id: "send", "aria-labelledby": "send-title" },
      h("h2", { id: "send-title", class: "panel-title" }, t("sendTitle")),
      h("div", { class: "panel-field" }, h("label", { for: "template-picker" }, t("template")), picker),
      formHost
    );
    picker.addEventListener("change", function () {
      chooseTemplate(picker.value);
    });
    return sendSection;
  }

  function loadTemplates() {
    return api("GET", "/templates?limit=200").then(
      function (result) {
        state.templates = (result.items || []).filter(function (item) {
          return !item.archived;
        });
        picker.textContent = "";
        if (!state.templates.length) {
          picker.appendChild(h("option", { value: "" }, "—"));
          formHost.textContent = "";
          formHost.appendChild(h("p", { class: "hint" }, t("noTemplates")));
          return;
        }
        picker.appendChild(h("option", { value: "" }, t("chooseTemplate")));
        state.templates.forEach(function (item) {
          picker.appendChild(h("option", { value: item.id }, item.name));
        });
        picker.disabled = false;
      },
      function (error) {
        if (state.ended) return;
        picker.textContent = "";
        picker.appendChild(h("option", { value: "" }, "—"));
        formHost.textContent = "";
        formHost.appendChild(h("p", { class: "panel-warning" }, t("templatesFailed", { reason: errorText(error) })));
      }
    );
  }

  function clearFormTimers(form) {
    clearTimeout(form.checkTimer);
    clearTimeout(form.previewTimer);
    form.dead = true;
  }

  function chooseTemplate(id) {
    if (state.form) clearFormTimers(state.form);
    state.form = null;
    formHost.textContent = "";
    showAlert("");
    if (!id) return;
    var loading = h("p", { class: "panel-loading" }, h("span", { class: "panel-spinner", "aria-hidden": "true" }), t("loadingTemplate"));
    formHost.appendChild(loading);
    formHost.setAttribute("aria-busy", "true");
    var templatePath = "/templates/" + encodeURIComponent(id);
    var crm = { system: context.system, object: context.object, record_id: String(context.record_id || "") };
    var prefill = api("POST", templatePath + "/prefill", { crm: crm }).then(
      function (result) {
        return { fields: (result && result.fields) || {}, problem: null };
      },
      function (error) {
        if (error.status === 401) throw error;
        return { fields: {}, problem: errorText(error) };
      }
    );
    Promise.all([api("GET", templatePath), prefill]).then(
      function (results) {
        if (picker.value !== id) return; // the agent chose another one meanwhile
        formHost.removeAttribute("aria-busy");
        buildForm(results[0], results[1]);
      },
      function (error) {
        if (state.ended || picker.value !== id) return;
        formHost.removeAttribute("aria-busy");
        formHost.textContent = "";
        formHost.appendChild(h("p", { class: "panel-warning" }, errorText(error)));
      }
    );
  }

  function requiredMark() {
    return [
      h("span", { class: "required-mark", "aria-hidden": "true" }, " *"),
      h("span", { class: "visually-hidden" }, " (" + t("required") + ")"),
    ];
  }

  function senderFields(definition) {
    return (definition.fields || []).filter(function (field) {
      return (field.filled_by || "sender") === "sender" && SIGNING_TYPES.indexOf(field.type) < 0;
    });
  }

  function currencySymbol(form) {
    var code = (form.definition && form.definition.currency) || "USD";
    return CURRENCY_SYMBOLS[code] || code + " ";
  }

  function formatAmount(value) {
    var number = Number(value);
    if (value === null || value === undefined || value === "" || isNaN(number)) return String(value || "");
    try {
      return new Intl.NumberFormat(LANG === "es" ? "es-ES" : "en-US", {
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
      }).format(number);
    } catch (ignored) {
      return number.toFixed(2);
    }
  }

  function displayValue(form, field, value) {
    if (value === null || value === undefined || value === "") return "";
    if (field.type === "currency") return currencySymbol(form) + formatAmount(value);
    if (field.type === "checkbox") return value ? t("yes") : "—";
    if (Array.isArray(value)) return value.join(", ");
    return String(value);
  }

  function buildForm(template, prefill) {
    var definition = template.definition || {};
    var form = {
      template: template,
      definition: definition,
      fields: senderFields(definition),
      prefilled: prefill.fields || {},
      controls: {},
      order: [],
      recipients: [],
      touched: {},
      submitted: false,
      serverErrors: {},
      check: null,
      checkSeq: 0,
      checkTimer: null,
      previewSeq: 0,
      previewTimer: null,
      idempotencyKey: newKey(),
      sending: false,
      dead: false,
    };
    state.form = form;

    var anyRequired = form.fields.some(function (field) {
      return field.required && !field.formula && !field.locked;
    });
    var details = h(
      "fieldset",
      { class: "panel-group", "aria-describedby": anyRequired ? "details-required" : null },
      h("legend", { class: "panel-subtitle" }, t("detailsTitle")),
      anyRequired ? h("p", { class: "hint", id: "details-required" }, t("requiredNote")) : null,
      form.fields.map(function (field) {
        var control = fieldControl(form, field);
        form.controls[field.key] = control;
        form.order.push(field.key);
        return control.wrapper;
      })
    );

    var recipients = recipientSection(form);
    var preview = previewSection(form);
    var submit = h("button", { type: "submit", class: "button button-primary button-wide", id: "send-submit" }, t("send"));
    form.submit = submit;

    form.el = h(
      "form",
      { id: "send-form", class: "send-form", novalidate: true, "aria-labelledby": "send-title" },
      prefill.problem
        ? h("p", { class: "panel-warning" }, icon("warning"), h("span", null, t("prefillFailed", { system: systemName(context.system), reason: prefill.problem })))
        : null,
      details,
      recipients,
      preview,
      h("div", { class: "panel-actions panel-actions-send" }, submit)
    );
    form.el.addEventListener("submit", function (event) {
      event.preventDefault();
      sendContract(form);
    });

    formHost.textContent = "";
    formHost.appendChild(form.el);
    runCheck(form);
  }

  // ---- one field

  function fieldControl(form, field) {
    var id = "field-" + field.key;
    var errorId = id + "-error";
    var noteId = id + "-note";
    var error = h("p", { id: errorId, class: "field-error" });
    var prefilled = form.prefilled[field.key];
    var calculated = !!field.formula;
    var locked = !calculated && !!(field.locked || (prefilled && prefilled.locked));
    var initial = prefilled && prefilled.value !== null && prefilled.value !== undefined
      ? prefilled.value
      : field.default;
    var rules = field.validation || {};
    var describedBy = [];
    var notes = [];
    var control;
    var wrapper;
    var read;
    var write;
    var focus;

    if (prefilled && prefilled.source) {
      var parts = String(prefilled.source).split(":");
      var system = parts.shift();
      notes.push(
        h("span", { class: "field-source" }, icon("source"), t("from", { system: systemName(system), path: parts.join(":") }))
      );
    }
    if (locked) notes.push(h("span", { class: "field-lock-hint" }, t("lockedHint")));
    if (calculated) notes.push(h("span", { class: "field-calc-hint" }, t("calculatedHint", { formula: field.formula })));
    var note = notes.length ? h("p", { class: "field-note", id: noteId }, notes) : null;
    if (note) describedBy.push(noteId);
    describedBy.push(errorId);

    var tag = calculated
      ? h("span", { class: "field-tag field-tag-calc" }, t("calculated"))
      : locked
        ? h("span", { class: "field-tag field-tag-lock" }, icon("lock"), t("locked"))
        : null;
    var label = [field.label, field.required && !calculated && !locked ? requiredMark() : null];

    if (calculated || locked) {
      // Read-only: a plain text box shows the value the server will use.
      control = h("input", {
        type: "text",
        id: id,
        name: field.key,
        readOnly: true,
        placeholder: calculated ? t("notCalculated") : null,
        class: "input-readonly" + (field.type === "currency" || field.type === "number" ? " input-number" : ""),
        "aria-describedby": describedBy.join(" "),
      });
      wrapper = h(
        "div",
        { class: "panel-field field-" + (calculated ? "calculated" : "locked"), "data-field": field.key },
        h("div", { class: "field-label-row" }, h("label", { for: id }, label), tag),
        control,
        note,
        error
      );
      var shown = null;
      write = function (value) {
        shown = value;
        control.value = displayValue(form, field, value);
      };
      read = function () {
        return shown;
      };
      write(locked ? initial : null);
    } else if (field.type === "multi_select") {
      var boxes = (field.options || []).map(function (option, index) {
        return h("input", { type: "checkbox", id: id + "-" + index, name: field.key, value: option });
      });
      wrapper = h(
        "fieldset",
        { class: "panel-field panel-fieldset", "data-field": field.key, "aria-describedby": describedBy.join(" ") },
        h("legend", null, label),
        h(
          "div",
          { class: "panel-choices" },
          boxes.map(function (box, index) {
            return h("label", { class: "panel-check", for: box.id }, box, h("span", null, field.options[index]));
          })
        ),
        note,
        error
      );
      control = wrapper;
      read = function () {
        return boxes.filter(function (b) {
          return b.checked;
        }).map(function (b) {
          return b.value;
        });
      };
      write = function (value) {
        var chosen = Array.isArray(value) ? value : [];
        boxes.forEach(function (b) {
          b.checked = chosen.indexOf(b.value) >= 0;
        });
      };
      focus = function () {
        focusInPanel(boxes[0]);
      };
      write(initial);
    } else if (field.type === "checkbox") {
      control = h("input", {
        type: "checkbox",
        id: id,
        name: field.key,
        "aria-describedby": describedBy.join(" "),
        "aria-required": field.required ? "true" : null,
      });
      wrapper = h(
        "div",
        { class: "panel-field", "data-field": field.key },
        h("label", { class: "panel-check", for: id }, control, h("span", null, label)),
        note,
        error
      );
      read = function () {
        return control.checked;
      };
      write = function (value) {
        control.checked = value === true;
      };
      write(initial);
    } else {
      if (field.type === "long_text") {
        control = h("textarea", { rows: "3" });
      } else if (field.type === "select") {
        control = h(
          "select",
          null,
          h("option", { value: "" }, t("choose")),
          (field.options || []).map(function (option) {
            return h("option", { value: option }, option);
          })
        );
      } else {
        var attrs = { type: "text", autocomplete: "off" };
        if (field.type === "number") {
          attrs.type = "number";
          attrs.step = "any";
          attrs.inputmode = "decimal";
          if (rules.min !== null && rules.min !== undefined) attrs.min = String(rules.min);
          if (rules.max !== null && rules.max !== undefined) attrs.max = String(rules.max);
        } else if (field.type === "currency") {
          attrs.inputmode = "decimal";
        } else if (field.type === "date") {
          attrs.type = "date";
        } else if (field.type === "email") {
          attrs.type = "email";
          attrs.spellcheck = "false";
        } else if (field.type === "phone") {
          attrs.type = "tel";
        }
        control = h("input", attrs);
      }
      control.id = id;
      control.name = field.key;
      control.setAttribute("aria-describedby", describedBy.join(" "));
      if (field.required) control.setAttribute("aria-required", "true");
      if (rules.max_length && ["text", "long_text", "email", "phone"].indexOf(field.type) >= 0) {
        control.setAttribute("maxlength", String(rules.max_length));
      }
      var input = control;
      if (field.type === "currency") {
        control.classList.add("input-number");
        input = h("div", { class: "input-affix" }, h("span", { class: "input-prefix", "aria-hidden": "true" }, currencySymbol(form)), control);
      }
      wrapper = h(
        "div",
        { class: "panel-field", "data-field": field.key },
        h("div", { class: "field-label-row" }, h("label", { for: id }, label), tag),
        input,
        note,
        error
      );
      read = function () {
        return control.value;
      };
      write = function (value) {
        control.value = value === null || value === undefined ? "" : String(value);
      };
      write(initial);
    }

    if (field.when) wrapper.hidden = true; // until the server says the condition holds

    var editable = !calculated && !locked;
    var item = {
      field: field,
      wrapper: wrapper,
      editable: editable,
      locked: locked,
      calculated: calculated,
      prefilledValue: prefilled ? prefilled.value : undefined,
      read: read,
      write: write,
      input: control,
      focus: focus || function () {
        focusInPanel(control);
      },
      setError: function (message) {
        if (error.textContent !== (message || "")) error.textContent = message || "";
        var target = field.type === "multi_select" ? wrapper : control;
        if (message) target.setAttribute("aria-invalid", "true");
        else target.removeAttribute("aria-invalid");
        wrapper.classList.toggle("has-error", !!message);
      },
      badInput: function () {
        return !!(control.validity && control.validity.badInput);
      },
    };
    if (editable) {
      var changed = function () {
        if (!form.sending) showAlert("");
        form.touched[field.key] = true;
        delete form.serverErrors["fields." + field.key];
        scheduleCheck(form);
      };
      wrapper.addEventListener("input", changed);
      wrapper.addEventListener("change", changed);
      wrapper.addEventListener("focusout", function (event) {
        if (wrapper.contains(event.relatedTarget)) return;
        if (!form.touched[field.key]) {
          form.touched[field.key] = true;
          showFieldErrors(form);
        }
      });
    }
    return item;
  }

  /** The values the agent gave: editable sender fields only (locked and calculated ones are the
   * server's). */
  function collectFields(form) {
    var values = {};
    form.order.forEach(function (key) {
      var control = form.controls[key];
      if (!control.editable) return;
      var value = control.read();
      var type = control.field.type;
      if (type === "number" || type === "currency") {
        value = String(value).trim();
        if (type === "currency") value = value.replace(/\s+/g, "");
        if (type === "currency" && /^-?\d+,\d{1,2}$/.test(value)) value = value.replace(",", ".");
      }
      values[key] = value;
    });
    return values;
  }

  // ---- validate as you type

  function scheduleCheck(form) {
    clearTimeout(form.checkTimer);
    form.checkTimer = setTimeout(function () {
      runCheck(form);
    }, CHECK_DELAY_MS);
  }

  function runCheck(form) {
    clearTimeout(form.checkTimer);
    var seq = ++form.checkSeq;
    var path = "/templates/" + encodeURIComponent(form.template.id) + "/validate-values";
    return api("POST", path, { fields: collectFields(form), crm: recordRef() }).then(
      function (result) {
        if (form.dead || seq !== form.checkSeq) return null;
        form.check = result;
        applyCheck(form, result);
        return result;
      },
      function (error) {
        if (form.dead || seq !== form.checkSeq || state.ended) return null;
        if (error.status === 422 || error.status === 403) {
          form.check = null;
          rememberServerErrors(form, error);
          showFieldErrors(form);
        } else {
          showAlert(errorText(error));
        }
        return null;
      }
    );
  }

  function applyCheck(form, result) {
    var active = {};
    (result.active_fields || []).forEach(function (key) {
      active[key] = true;
    });
    var values = result.values || {};
    form.order.forEach(function (key) {
      var control = form.controls[key];
      var on = !!active[key];
      if (control.wrapper.hidden === on) control.wrapper.hidden = !on;
      if (control.calculated) control.write(values[key]);
      else if (control.locked && control.prefilledValue === undefined && key in values) control.write(values[key]);
    });
    var roles = result.roles || [];
    form.recipients.forEach(function (row) {
      var on = roles.indexOf(row.role.key) >= 0;
      if (row.el.hidden === on) row.el.hidden = !on;
    });
    numberRecipients(form);
    showFieldErrors(form);
    if (form.previewOpen() && !form.sending) schedulePreview(form);
  }

  /** A server sentence ("must be at least 1") as a sentence about the field, in the panel's
   * language. */
  function fieldMessage(field, message) {
    var label = field.label;
    var text = String(message || "");
    var match;
    if ((match = /^must be at least (.+)$/.exec(text))) return t("atLeast", { label: label, n: match[1] });
    if ((match = /^must be at most (.+)$/.exec(text))) return t("atMost", { label: label, n: match[1] });
    if ((match = /^is longer than (\d+) characters$/.exec(text))) return t("tooLong", { label: label, n: match[1] });
    if (/^must be an email address$/.test(text)) return t("mustEmail", { label: label });
    if (/^must be a phone number$/.test(text)) return t("mustPhone", { label: label });
    if (/^must be a date/.test(text)) return t("mustDate", { label: label });
    if (/^must be a (finite )?number/.test(text)) return t("mustNumber", { label: label });
    if (/^does not have the expected format$/.test(text)) return t("badFormat", { label: label });
    if (/is not one of the options$/.test(text)) return t("notOption", { label: label });
    if (/^is required$/.test(text)) return t("fieldRequired", { label: label });
    return /^[a-z]/.test(text) ? label + " " + text : text;
  }

  function rememberServerErrors(form, error) {
    (error.errors || []).forEach(function (item) {
      var path = normalPath(item.path);
      if (path) form.serverErrors[path] = item.message || error.detail || "";
    });
  }

  /** "recipients.0.email" (request validation) and "recipients[0].email" (the service) alike. */
  function normalPath(path) {
    return String(path || "")
      .replace(/^(body|json)\./, "")
      .replace(/\.(\d+)(?=\.|$)/g, "[$1]");
  }

  function showFieldErrors(form) {
    var result = form.check;
    var invalid = {};
    var missing = {};
    if (result) {
      (result.invalid || []).forEach(function (item) {
        invalid[item.field] = item.message;
      });
      (result.missing || []).forEach(function (item) {
        if ((item.filled_by || "sender") === "sender") missing[item.field] = true;
      });
    }
    var first = null;
    form.order.forEach(function (key) {
      var control = form.controls[key];
      var field = control.field;
      var message = "";
      var server = form.serverErrors["fields." + key];
      if (control.editable && control.badInput()) message = t("notNumber");
      else if (invalid[key]) message = fieldMessage(field, invalid[key]);
      else if (server) message = fieldMessage(field, server);
      else if (missing[key] && (form.touched[key] || form.submitted)) {
        message = t("fieldRequired", { label: field.label });
      }
      if (control.wrapper.hidden) message = "";
      control.setError(message);
      if (message && !first) first = control;
    });
    form.recipients.forEach(function (row, index) {
      if (row.el.hidden) return;
      ["name", "email"].forEach(function (part) {
        var message = row.clientErrors[part] || "";
        var sentIndex = form.sentIndex ? form.sentIndex.indexOf(row) : index;
        var server = form.serverErrors["recipients[" + sentIndex + "]." + part];
        if (!message && server) message = fieldMessage({ label: part === "name" ? t("name") : t("email") }, server);
        row.setError(part, message);
        if (message && !first) {
          first = {
            focus: function () {
              focusInPanel(row.inputs[part]);
            },
          };
        }
      });
    });
    return first;
  }

  // ---- recipients

  function recipientSection(form) {
    var roles = (form.definition.roles || []).filter(function (role) {
      return role.kind === "signer" || role.kind === "approver";
    });
    var firstSigner = roles.filter(function (role) {
      return role.kind === "signer";
    })[0];
    var requester = context.requester || {};
    var rows = roles.map(function (role) {
      var row = recipientRow(form, role, role === firstSigner ? requester : null);
      form.recipients.push(row);
      return row.el;
    });
    return h(
      "fieldset",
      { class: "panel-group", "aria-describedby": "recipients-hint" },
      h("legend", { class: "panel-subtitle" }, t("recipientsTitle")),
      h("p", { class: "hint", id: "recipients-hint" }, t("recipientsHint")),
      rows
    );
  }

  function recipientRow(form, role, person) {
    var base = "recipient-" + role.key;
    var inputs = {
      name: h("input", { type: "text", id: base + "-name", name: base + "-name", autocomplete: "off", maxlength: "200", "aria-required": "true" }),
      email: h("input", { type: "email", id: base + "-email", name: base + "-email", autocomplete: "off", spellcheck: "false", maxlength: "320", "aria-required": "true" }),
    };
    var errors = {
      name: h("p", { class: "field-error", id: base + "-name-error" }),
      email: h("p", { class: "field-error", id: base + "-email-error" }),
    };
    inputs.name.setAttribute("aria-describedby", base + "-name-error");
    inputs.email.setAttribute("aria-describedby", base + "-email-error");
    if (person) {
      inputs.name.value = person.name || "";
      inputs.email.value = person.email || "";
    }
    var deliveries = ["email", "embedded"].map(function (value) {
      return h("input", {
        type: "radio",
        id: base + "-delivery-" + value,
        name: base + "-delivery",
        value: value,
        checked: value === "email",
        "aria-describedby": base + "-delivery-" + value + "-hint",
      });
    });
    var order = h("span", { class: "recipient-order", "aria-hidden": "true" }, "");
    var orderText = h("span", { class: "visually-hidden" }, "");
    var el = h(
      "fieldset",
      { class: "recipient-row", "data-role": role.key },
      h(
        "legend",
        { class: "recipient-legend" },
        order,
        orderText,
        h("span", { class: "recipient-role-label" }, role.label || humanize(role.key)),
        h("span", { class: "recipient-kind" }, " · " + (role.kind === "approver" ? t("approves") : t("signs")))
      ),
      person && (person.name || person.email)
        ? h("p", { class: "field-note" }, icon("source"), isTicket() ? t("fromRequester") : t("fromContact"))
        : null,
      h(
        "div",
        { class: "recipient-grid" },
        h("div", { class: "panel-field" }, h("label", { for: inputs.name.id }, t("name"), requiredMark()), inputs.name, errors.name),
        h("div", { class: "panel-field" }, h("label", { for: inputs.email.id }, t("email"), requiredMark()), inputs.email, errors.email)
      ),
      h(
        "fieldset",
        { class: "panel-fieldset delivery" },
        h("legend", null, t("delivery")),
        h(
          "div",
          { class: "panel-choices panel-choices-row" },
          deliveries.map(function (radio) {
            var email = radio.value === "email";
            return h(
              "div",
              { class: "panel-choice" },
              h(
                "label",
                { class: "panel-check panel-radio", for: radio.id },
                radio,
                h("span", null, email ? t("deliveryEmail") : t("deliveryEmbedded"))
              ),
              h("p", { class: "panel-check-hint", id: radio.id + "-hint" }, email ? t("deliveryEmailHint") : t("deliveryEmbeddedHint"))
            );
          })
        )
      )
    );
    if (role.when) el.hidden = true; // until the server says the role takes part
    var row = {
      role: role,
      el: el,
      inputs: inputs,
      clientErrors: {},
      order: order,
      orderText: orderText,
      person: person,
      read: function () {
        var chosen = deliveries.filter(function (r) {
          return r.checked;
        })[0];
        return {
          name: inputs.name.value.trim(),
          email: inputs.email.value.trim(),
          role: role.key,
          delivery: chosen ? chosen.value : "email",
          locale: person && languageOf(person.locale) === "es" ? "es" : "en",
        };
      },
      setError: function (part, message) {
        if (errors[part].textContent !== (message || "")) errors[part].textContent = message || "";
        if (message) inputs[part].setAttribute("aria-invalid", "true");
        else inputs[part].removeAttribute("aria-invalid");
        errors[part].parentNode.classList.toggle("has-error", !!message);
      },
    };
    ["name", "email"].forEach(function (part) {
      inputs[part].addEventListener("input", function () {
        if (!form.sending) showAlert("");
        delete row.clientErrors[part];
        Object.keys(form.serverErrors).forEach(function (path) {
          if (/^recipients/.test(path)) delete form.serverErrors[path];
        });
        row.setError(part, "");
      });
    });
    return row;
  }

  function activeRecipients(form) {
    return form.recipients.filter(function (row) {
      return !row.el.hidden;
    });
  }

  function numberRecipients(form) {
    activeRecipients(form).forEach(function (row, index) {
      var n = String(index + 1);
      if (row.order.textContent !== n) {
        row.order.textContent = n;
        row.orderText.textContent = t("orderLabel", { n: n }) + ": ";
        row.el.setAttribute("data-order", n);
      }
    });
  }

  var EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

  function checkRecipients(form) {
    activeRecipients(form).forEach(function (row) {
      var value = row.read();
      row.clientErrors = {};
      if (!value.name) row.clientErrors.name = t("enterName");
      if (!EMAIL.test(value.email)) row.clientErrors.email = t("notEmail");
    });
  }

  // ---- the preview

  function documentFragment(html) {
    var parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
    var banned = parsed.querySelectorAll(
      "script, style, link, meta, base, iframe, frame, object, embed, form, template"
    );
    Array.prototype.forEach.call(banned, function (node) {
      node.remove();
    });
    Array.prototype.forEach.call(parsed.body.querySelectorAll("*"), function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (attribute) {
        var name = attribute.name.toLowerCase();
        var risky = name.indexOf("on") === 0 || name === "style" ||
          ((name === "href" || name === "src" || name === "xlink:href") &&
            /^\s*(javascript|data|vbscript):/i.test(attribute.value));
        if (risky) el.removeAttribute(attribute.name);
      });
    });
    var fragment = document.createDocumentFragment();
    Array.prototype.slice.call(parsed.body.childNodes).forEach(function (node) {
      fragment.appendChild(document.importNode(node, true));
    });
    return fragment;
  }

  function previewSection(form) {
    var doc = h("div", {
      class: "preview-document",
      id: "preview-document",
      role: "region",
      tabindex: "0",
      "aria-label": t("previewLabel"),
    });
    var note = h("p", { class: "hint preview-note", id: "preview-note" });
    var pdfButton = h("button", { type: "button", class: "button button-secondary button-small" }, icon("pdf"), t("openPdf"));
    var pdfSlot = h("span", { class: "preview-pdf-link" });
    var details = h(
      "details",
      { class: "preview", id: "preview" },
      h("summary", { class: "preview-summary" }, t("preview")),
      h("div", { class: "preview-tools" }, pdfButton, pdfSlot),
      note,
      doc
    );
    form.preview = { details: details, doc: doc, note: note, pdfSlot: pdfSlot };
    form.previewOpen = function () {
      return details.open;
    };
    details.addEventListener("toggle", function () {
      if (details.open) runPreview(form);
    });
    pdfButton.addEventListener("click", function () {
      openPdfPreview(form, pdfButton);
    });
    return details;
  }

  function schedulePreview(form) {
    clearTimeout(form.previewTimer);
    form.previewTimer = setTimeout(function () {
      runPreview(form);
    }, PREVIEW_DELAY_MS);
  }

  /** The ticket or record this panel is for: locked values come from it, as when sending. */
  function recordRef() {
    return { system: context.system, object: context.object, record_id: String(context.record_id || "") };
  }

  function runPreview(form) {
    clearTimeout(form.previewTimer);
    var seq = ++form.previewSeq;
    var preview = form.preview;
    preview.doc.setAttribute("aria-busy", "true");
    if (!preview.doc.firstChild) preview.note.textContent = t("previewLoading");
    var path = "/templates/" + encodeURIComponent(form.template.id) + "/preview-html";
    api("POST", path, { fields: collectFields(form), crm: recordRef() }).then(
      function (result) {
        if (form.dead || seq !== form.previewSeq) return;
        preview.doc.removeAttribute("aria-busy");
        preview.note.textContent = "";
        preview.doc.textContent = "";
        preview.doc.appendChild(documentFragment(result.html));
      },
      function (error) {
        if (form.dead || seq !== form.previewSeq || state.ended) return;
        preview.doc.removeAttribute("aria-busy");
        preview.note.textContent = error.status === 422 ? t("previewWaiting") : errorText(error);
      }
    );
  }

  function openPdfPreview(form, button) {
    var done = busy(button, t("openingPdf"));
    form.preview.pdfSlot.textContent = "";
    var path = "/templates/" + encodeURIComponent(form.template.id) + "/preview";
    api("POST", path, { fields: collectFields(form), crm: recordRef() }, { blob: true }).then(
      function (result) {
        done();
        var url = URL.createObjectURL(result.blob);
        var opened = window.open(url, "_blank");
        if (opened) {
          try {
            opened.opener = null;
          } catch (ignored) {
            /* the new window guards itself */
          }
        }
        // Always leave a link too: a framed panel may not be allowed to open windows.
        form.preview.pdfSlot.appendChild(
          h(
            "a",
            { href: url, target: "_blank", rel: "noopener", download: filenameFrom(result.disposition, "preview.pdf") },
            t("pdfLink"),
            h("span", { class: "visually-hidden" }, " " + t("newTab"))
          )
        );
        announce(t("pdfReady"));
      },
      function (error) {
        done();
        if (state.ended) return;
        form.preview.note.textContent = error.status === 422 ? t("previewWaiting") : errorText(error);
      }
    );
  }

  // ---- send

  function sendContract(form) {
    if (form.sending) return;
    form.sending = true;
    form.submitted = true;
    form.serverErrors = {}; // the last attempt's problems: the server judges this one afresh
    showAlert("");
    var restore = busy(form.submit, t("sending"));
    function fail(message, first) {
      form.sending = false;
      restore();
      if (message) showAlert(message);
      if (first) first.focus();
    }

    runCheck(form).then(function (result) {
      if (form.dead) return;
      checkRecipients(form);
      var first = showFieldErrors(form);
      if (!result) {
        fail(first ? t("checkFields") : "", first); // the check's own error is on screen
        return;
      }
      if (!result.valid || first) {
        fail(t("checkFields"), first);
        return;
      }
      var rows = activeRecipients(form);
      form.sentIndex = rows;
      var body = {
        template_id: form.template.id,
        fields: collectFields(form),
        recipients: rows.map(function (row, index) {
          var value = row.read();
          value.routing_order = index + 1;
          return value;
        }),
        crm: { system: context.system, object: context.object, record_id: String(context.record_id || "") },
      };
      api("POST", "/envelopes", body, { headers: { "Idempotency-Key": form.idempotencyKey } }).then(
        function (envelope) {
          form.sending = false;
          sent(form, envelope);
        },
        function (error) {
          if (state.ended) return;
          if (error.status === 422 || error.status === 403) {
            form.serverErrors = {};
            rememberServerErrors(form, error);
            var firstError = showFieldErrors(form);
            var general = (error.errors || []).filter(function (item) {
              var path = normalPath(item.path);
              return !/^fields\./.test(path) && !/^recipients\[\d+\]\.(name|email)$/.test(path);
            }).map(function (item) {
              return item.message ? (item.path ? normalPath(item.path) + ": " : "") + item.message : "";
            });
            var detail = general.length ? general.join(" ") : error.detail || t("checkFields");
            fail(detail, firstError);
            return;
          }
          fail(errorText(error), null);
        }
      );
    });
  }

  function sent(form, envelope) {
    clearFormTimers(form);
    state.form = null;
    announce(t("sentOk", { title: envelope.subject || form.template.name }));
    picker.value = "";
    formHost.textContent = "";
    if (mine(envelope)) upsertEnvelope(envelope);
    var card = state.cards[envelope.id];
    if (card) {
      card.el.classList.add("envelope-new");
      focusInPanel(card.heading);
    }
    loadEnvelopes();
  }

  // ---------------------------------------------------------------- start

  function startPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = setInterval(function () {
      if (document.visibilityState === "visible") loadEnvelopes();
    }, POLL_MS);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "visible" || state.ended) return;
      refreshIfDue();
      loadEnvelopes();
    });
  }

  function start() {
    document.documentElement.lang = LANG;
    renderHeader();
    if (!state.token) {
      sessionEnded();
      return;
    }
    view.textContent = "";
    var writer = state.role !== "compliance";
    appendChild(view, [envelopeSection(), writer ? sendSectionNode() : null]);
    root.setAttribute("aria-busy", "false");
    scheduleRefresh();
    api("GET", "/me").then(
      function (me) {
        if (me && me.role && me.role !== state.role) {
          state.role = me.role;
          if (me.role === "compliance" && sendSection) sendSection.remove();
          if (state.envelopes) {
            var list = state.envelopes;
            state.envelopes = null;
            Object.keys(state.cards).forEach(function (id) {
              state.cards[id].sig = "";
            });
            renderEnvelopes(list);
          }
        }
      },
      function () {
        /* a 401 ends the session; anything else leaves the context's role */
      }
    );
    loadEnvelopes();
    if (writer) loadTemplates();
    startPolling();
  }

  /**
   * Inside Zendesk the ticket comes from the Zendesk App Framework (the signed URL carries no
   * ticket): ask the hosting frame for it, then start. Elsewhere the entry point gave it.
   */
  function withRecord(then) {
    if (context.system !== "zendesk" || context.record_id) return then();
    var client = window.ZAFClient && window.ZAFClient.init();
    if (!client) {
      showAlert(t("noRecord"));
      return undefined;
    }
    client
      .get(["ticket.id", "ticket.subject", "ticket.requester.name", "ticket.requester.email"])
      .then(
        function (data) {
          var id = data["ticket.id"];
          if (!id) {
            showAlert(t("noRecord"));
            return;
          }
          context.record_id = String(id);
          context.record_label = "#" + id + (data["ticket.subject"] ? " " + data["ticket.subject"] : "");
          context.requester = {
            name: data["ticket.requester.name"] || "",
            email: data["ticket.requester.email"] || "",
          };
          then();
        },
        function () {
          showAlert(t("noRecord"));
        }
      );
    return undefined;
  }

  if (root) withRecord(start);
})();
