/* Countersign signer panel: consent, review, fill, adopt a signature, sign or decline.
 *
 * Talks to the public signing API (docs/signing.md). No libraries, no build step, no inline code:
 * the page's CSP allows only this file. Every node is built with the DOM API; the document's HTML
 * (escaped by the server) is parsed with DOMParser and its nodes are appended.
 */
(function () {
  "use strict";

  var API = "/api/v1/signing/";
  var SIGNING_TYPES = ["signature", "initials", "date_signed", "name_signed"];
  var DECLINE_MAX = 1000;
  var TYPED_MAX = 100;
  var STORE_PREFIX = "countersign:session:";

  var STRINGS = {
    en: {
      loading: "Loading…",
      from: "From {org}",
      messageFrom: "Message from {org}",
      consentTitle: "Consent to electronic records and signatures",
      consentIntro:
        "{org} asks you to review and sign “{title}” electronically. Please read this " +
        "disclosure first. It is required by the U.S. ESIGN Act and the Uniform Electronic " +
        "Transactions Act (UETA).",
      consentAgreeTitle: "What you agree to",
      consentAgree:
        "If you agree, you receive this document and any notices about it electronically, and " +
        "your electronic signature on it has the same legal effect as a handwritten signature. " +
        "Your consent applies only to this document.",
      consentPaperTitle: "Paper copies",
      consentPaper:
        "You may ask for a paper copy of this document at any time, free of charge. To get " +
        "one, contact the sender, {org}.",
      consentWithdrawTitle: "Withdrawing your consent",
      consentWithdraw:
        "You may withdraw your consent at any time before you sign, with the “Withdraw " +
        "consent” button on the signing page or by telling {org}. If you withdraw it, you " +
        "cannot sign this document electronically; {org} is told and can offer you another way " +
        "to sign. Withdrawing does not undo anything you signed before.",
      consentNeedsTitle: "What you need",
      consentNeeds:
        "A current web browser (a recent Chrome, Edge, Firefox or Safari) with JavaScript " +
        "turned on, an internet connection, and a PDF viewer to open and keep a copy of the " +
        "document. You can download the PDF, save it and print it.",
      consentContactTitle: "Keeping your contact details up to date",
      consentContact:
        "If your email address or other contact details change, tell the sender, {org}, so " +
        "they can reach you about this document.",
      consentCheck:
        "I have read this disclosure and agree to use electronic records and signatures for " +
        "this document. I can open and keep PDF files.",
      consentRequired: "Tick the box to agree before you continue.",
      continue: "Continue",
      working: "One moment…",
      reviewTitle: "Review the document",
      documentLabel: "Document: {title}",
      downloadPdf: "Download PDF",
      newTab: "(opens in a new tab)",
      youSignHere: "You sign here",
      detailsTitle: "Your details",
      requiredNote: "Fields marked * are required.",
      required: "required",
      choose: "Choose…",
      signatureTitle: "Your signature",
      howToSign: "How to sign",
      draw: "Draw",
      type: "Type",
      padLabel: "Signature pad. Draw your signature with your finger, a pen or the mouse.",
      signAbove: "Sign above",
      clear: "Clear",
      typedLabel: "Type your full name",
      typedPreviewLabel: "Preview of your signature",
      drawEmpty: "Draw your signature in the box, or choose Type.",
      typedEmpty: "Type your name to adopt it as your signature.",
      intentSign:
        "By selecting Sign, I agree that the signature above is the electronic representation " +
        "of my signature for all purposes when I use it on this document, just the same as a " +
        "pen-and-paper signature.",
      intentApprove:
        "By selecting Approve, I confirm that I have reviewed this document and approve it " +
        "electronically.",
      sign: "Sign",
      signing: "Signing…",
      approve: "Approve",
      approving: "Approving…",
      declineLink: "Decline to sign",
      withdrawLink: "Withdraw consent",
      declineTitle: "Decline to sign",
      declineIntro: "{org} is told that you declined, with your reason.",
      declineReason: "Reason",
      declineRequired: "Say why you decline.",
      declineTooLong: "Use 1000 characters or fewer.",
      declineCount: "{n} of 1000 characters",
      declineConfirm: "Decline",
      declining: "Declining…",
      cancel: "Cancel",
      withdrawTitle: "Withdraw your consent?",
      withdrawText:
        "You will not be able to sign this document electronically. {org} is told and can " +
        "send you a paper copy or offer another way to sign.",
      withdrawConfirm: "Withdraw consent",
      withdrawnTitle: "You withdrew your consent",
      withdrawnText:
        "You can no longer sign this document electronically. {org} has been told and will " +
        "contact you about another way to sign. To ask for a paper copy, contact {org}.",
      consentAgain: "Read the disclosure and agree again",
      signedTitle: "You signed the document",
      approvedTitle: "You approved the document",
      declinedTitle: "You declined to sign",
      signedCompleted: "Everyone has signed “{title}”. The completed copy is on its way by email.",
      signedPending: "Thank you. “{title}” now goes to the next person; you get a copy by email.",
      declinedText: "{org} has been told that you declined “{title}”.",
      doneText: "There is nothing more for you to do.",
      continueTo: "Continue",
      waitingTitle: "It is not your turn yet",
      closedTitle: "This document is closed",
      expired:
        "This link has expired or was already used. Ask the sender for a new link to sign.",
      network: "We could not reach the server. Check your connection and try again.",
      failed: "Something went wrong (error {status}). Try again in a moment.",
      checkFields: "Check the highlighted fields.",
      fieldRequired: "Fill in this field.",
      tickRequired: "Tick this box.",
      chooseRequired: "Choose an option.",
      chooseAtLeastOne: "Choose at least one option.",
      notNumber: "Enter a number, such as 12 or 12.50.",
      atLeast: "Enter {n} or more.",
      atMost: "Enter {n} or less.",
      tooLong: "Use {n} characters or fewer.",
      notEmail: "Enter an email address, such as name@example.com.",
      notPhone: "Enter a phone number, such as +1 555 010 0199.",
      notDate: "Enter a date.",
      badFormat: "This does not have the expected format.",
      yes: "Yes",
    },
    es: {
      loading: "Cargando…",
      from: "De {org}",
      messageFrom: "Mensaje de {org}",
      consentTitle: "Consentimiento para registros y firmas electrónicos",
      consentIntro:
        "{org} le pide que revise y firme «{title}» de forma electrónica. Lea primero esta " +
        "información. La exigen la ley ESIGN de EE. UU. y la Ley Uniforme de Transacciones " +
        "Electrónicas (UETA).",
      consentAgreeTitle: "Qué acepta",
      consentAgree:
        "Si acepta, recibirá este documento y los avisos relacionados de forma electrónica, y " +
        "su firma electrónica tendrá el mismo efecto legal que una firma manuscrita. Su " +
        "consentimiento se aplica solo a este documento.",
      consentPaperTitle: "Copias en papel",
      consentPaper:
        "Puede pedir una copia en papel de este documento en cualquier momento, sin coste. " +
        "Para obtenerla, contacte con el remitente, {org}.",
      consentWithdrawTitle: "Retirar su consentimiento",
      consentWithdraw:
        "Puede retirar su consentimiento en cualquier momento antes de firmar, con el botón " +
        "«Retirar consentimiento» de la página de firma o comunicándoselo a {org}. Si lo " +
        "retira, no podrá firmar este documento electrónicamente; se informará a {org}, que " +
        "podrá ofrecerle otra forma de firmar. Retirarlo no anula lo que haya firmado antes.",
      consentNeedsTitle: "Qué necesita",
      consentNeeds:
        "Un navegador actualizado (una versión reciente de Chrome, Edge, Firefox o Safari) con " +
        "JavaScript activado, conexión a internet y un lector de PDF para abrir y conservar una " +
        "copia del documento. Puede descargar el PDF, guardarlo e imprimirlo.",
      consentContactTitle: "Mantener sus datos de contacto al día",
      consentContact:
        "Si cambian su correo electrónico u otros datos de contacto, comuníqueselo al " +
        "remitente, {org}, para que pueda contactarle sobre este documento.",
      consentCheck:
        "He leído esta información y acepto usar registros y firmas electrónicos para este " +
        "documento. Puedo abrir y conservar archivos PDF.",
      consentRequired: "Marque la casilla para aceptar antes de continuar.",
      continue: "Continuar",
      working: "Un momento…",
      reviewTitle: "Revise el documento",
      documentLabel: "Documento: {title}",
      downloadPdf: "Descargar PDF",
      newTab: "(se abre en una pestaña nueva)",
      youSignHere: "Usted firma aquí",
      detailsTitle: "Sus datos",
      requiredNote: "Los campos marcados con * son obligatorios.",
      required: "obligatorio",
      choose: "Elija…",
      signatureTitle: "Su firma",
      howToSign: "Cómo firmar",
      draw: "Dibujar",
      type: "Escribir",
      padLabel: "Panel de firma. Dibuje su firma con el dedo, un lápiz o el ratón.",
      signAbove: "Firme arriba",
      clear: "Borrar",
      typedLabel: "Escriba su nombre completo",
      typedPreviewLabel: "Vista previa de su firma",
      drawEmpty: "Dibuje su firma en el recuadro o elija Escribir.",
      typedEmpty: "Escriba su nombre para adoptarlo como firma.",
      intentSign:
        "Al seleccionar Firmar, acepto que la firma anterior es la representación electrónica " +
        "de mi firma a todos los efectos cuando la uso en este documento, igual que una firma " +
        "con bolígrafo en papel.",
      intentApprove:
        "Al seleccionar Aprobar, confirmo que he revisado este documento y lo apruebo " +
        "electrónicamente.",
      sign: "Firmar",
      signing: "Firmando…",
      approve: "Aprobar",
      approving: "Aprobando…",
      declineLink: "Rechazar la firma",
      withdrawLink: "Retirar consentimiento",
      declineTitle: "Rechazar la firma",
      declineIntro: "Se informará a {org} de que ha rechazado firmar y del motivo.",
      declineReason: "Motivo",
      declineRequired: "Indique por qué rechaza firmar.",
      declineTooLong: "Use 1000 caracteres como máximo.",
      declineCount: "{n} de 1000 caracteres",
      declineConfirm: "Rechazar",
      declining: "Rechazando…",
      cancel: "Cancelar",
      withdrawTitle: "¿Retirar su consentimiento?",
      withdrawText:
        "No podrá firmar este documento electrónicamente. Se informará a {org}, que podrá " +
        "enviarle una copia en papel u ofrecerle otra forma de firmar.",
      withdrawConfirm: "Retirar consentimiento",
      withdrawnTitle: "Ha retirado su consentimiento",
      withdrawnText:
        "Ya no puede firmar este documento electrónicamente. Se ha informado a {org}, que se " +
        "pondrá en contacto con usted para firmar de otra forma. Para pedir una copia en " +
        "papel, contacte con {org}.",
      consentAgain: "Leer la información y aceptar de nuevo",
      signedTitle: "Ha firmado el documento",
      approvedTitle: "Ha aprobado el documento",
      declinedTitle: "Ha rechazado firmar",
      signedCompleted: "Todos han firmado «{title}». Recibirá la copia final por correo.",
      signedPending:
        "Gracias. «{title}» pasa ahora a la siguiente persona; recibirá una copia por correo.",
      declinedText: "Se ha informado a {org} de que ha rechazado «{title}».",
      doneText: "No tiene que hacer nada más.",
      continueTo: "Continuar",
      waitingTitle: "Todavía no es su turno",
      closedTitle: "Este documento está cerrado",
      expired:
        "Este enlace ha caducado o ya se utilizó. Pida al remitente un enlace nuevo para firmar.",
      network: "No pudimos conectar con el servidor. Compruebe su conexión e inténtelo de nuevo.",
      failed: "Algo ha fallado (error {status}). Inténtelo de nuevo en un momento.",
      checkFields: "Revise los campos marcados.",
      fieldRequired: "Rellene este campo.",
      tickRequired: "Marque esta casilla.",
      chooseRequired: "Elija una opción.",
      chooseAtLeastOne: "Elija al menos una opción.",
      notNumber: "Escriba un número, como 12 o 12.50.",
      atLeast: "Escriba {n} o más.",
      atMost: "Escriba {n} o menos.",
      tooLong: "Use {n} caracteres como máximo.",
      notEmail: "Escriba un correo electrónico, como nombre@ejemplo.com.",
      notPhone: "Escriba un número de teléfono, como +34 600 000 000.",
      notDate: "Escriba una fecha.",
      badFormat: "El valor no tiene el formato esperado.",
      yes: "Sí",
    },
  };

  // ---------------------------------------------------------------- language and text

  function chooseLanguage() {
    var list = navigator.languages && navigator.languages.length
      ? navigator.languages
      : [navigator.language || "en"];
    for (var i = 0; i < list.length; i++) {
      var tag = String(list[i] || "").toLowerCase();
      if (tag === "es" || tag.indexOf("es-") === 0) return "es";
      if (tag === "en" || tag.indexOf("en-") === 0) return "en";
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
        else if (name === "value" || name === "checked" || name === "disabled") el[name] = value;
        else el.setAttribute(name, value === true ? "" : String(value));
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

  // ---------------------------------------------------------------- state

  var root = $("signer");
  var view = $("signer-view");
  var alertBox = $("signer-alert");
  var statusBox = $("signer-status");
  var header = $("signer-header");
  var originalToken = root ? root.getAttribute("data-token") || "" : "";
  var state = {
    token: originalToken, // the session token once the first GET succeeded
    data: null,
    loaded: false,
    pad: null,
    signatureMode: "drawn",
    controls: {},
  };

  // ---------------------------------------------------------------- API

  function ApiError(status, detail, errors) {
    this.status = status;
    this.detail = detail;
    this.errors = errors || [];
  }

  function api(method, path, body, token) {
    var options = {
      method: method,
      headers: { Accept: "application/json, application/problem+json" },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    var url = API + encodeURIComponent(token || state.token) + (path || "");
    return fetch(url, options).then(
      function (response) {
        var type = response.headers.get("Content-Type") || "";
        var parsed = type.indexOf("json") >= 0
          ? response.json().catch(function () {
            return {};
          })
          : Promise.resolve({});
        return parsed.then(function (payload) {
          if (response.ok) return payload;
          throw new ApiError(response.status, payload.detail || payload.title, payload.errors);
        });
      },
      function () {
        throw new ApiError(0, null, []);
      }
    );
  }

  function errorText(error) {
    if (!(error instanceof ApiError)) return t("failed", { status: "?" });
    if (error.status === 0) return t("network");
    if (error.status === 401) return t("expired");
    if (error.detail) return error.detail;
    return t("failed", { status: error.status });
  }

  // ---------------------------------------------------------------- messages to the host page

  function parentOrigin() {
    if (window.parent === window) return null;
    try {
      if (location.ancestorOrigins && location.ancestorOrigins.length) {
        return location.ancestorOrigins[0];
      }
    } catch (ignored) {
      /* not available */
    }
    if (document.referrer) {
      try {
        return new URL(document.referrer).origin;
      } catch (ignored) {
        return null;
      }
    }
    return null;
  }

  function notifyParent(type, message) {
    var data = state.data;
    if (!data || window.parent === window) return;
    var origin = parentOrigin();
    var allowed = Array.isArray(data.allowed_origins) ? data.allowed_origins : [];
    if (!origin || origin === "null" || allowed.indexOf(origin) < 0) return;
    var event = {
      type: type,
      envelope_id: data.envelope && data.envelope.id,
      recipient_id: data.recipient && data.recipient.id,
    };
    if (message) event.message = message;
    window.parent.postMessage(event, origin);
  }

  // ---------------------------------------------------------------- alerts and screens

  function showAlert(message) {
    alertBox.textContent = "";
    if (message) {
      alertBox.appendChild(h("p", { class: "signer-alert-text" }, message));
    }
  }

  function reportError(error) {
    var message = errorText(error);
    showAlert(message);
    if (state.loaded) notifyParent("countersign:error", message);
    return message;
  }

  function announce(message) {
    statusBox.textContent = message;
  }

  function setView(nodes, focusTarget) {
    view.textContent = "";
    appendChild(view, nodes);
    root.setAttribute("aria-busy", "false");
    if (state.rendered && focusTarget) {
      window.scrollTo(0, 0);
      focusTarget.focus();
    }
    state.rendered = true;
  }

  function heading(id, text) {
    return h("h2", { id: id, class: "signer-title", tabindex: "-1" }, text);
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

  function renderHeader() {
    var data = state.data;
    var envelope = data.envelope || {};
    header.textContent = "";
    appendChild(header, [
      h("p", { class: "signer-org" }, t("from", { org: envelope.org_name || "" })),
      h("h1", { class: "signer-doc-title" }, envelope.title || ""),
      envelope.message
        ? h(
          "figure",
          { class: "signer-message" },
          h("figcaption", null, t("messageFrom", { org: envelope.org_name || "" })),
          h("blockquote", null, h("p", null, envelope.message))
        )
        : null,
    ]);
    header.hidden = false;
    document.title = (envelope.title ? envelope.title + " – " : "") + "Countersign";
  }

  function pdfLink(extraClass) {
    var url = state.data && state.data.document && state.data.document.pdf_url;
    if (!url) return null;
    return h(
      "a",
      {
        class: "button button-secondary" + (extraClass ? " " + extraClass : ""),
        href: url,
        target: "_blank",
        rel: "noopener",
      },
      h("span", { class: "icon-download", "aria-hidden": "true" }),
      t("downloadPdf"),
      h("span", { class: "visually-hidden" }, " " + t("newTab"))
    );
  }

  function safeReturnUrl(raw) {
    if (!raw) return null;
    try {
      var url = new URL(raw, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (ignored) {
      return null;
    }
  }

  function org() {
    return (state.data && state.data.envelope && state.data.envelope.org_name) || "";
  }

  function docTitle() {
    return (state.data && state.data.envelope && state.data.envelope.title) || "";
  }

  // ---------------------------------------------------------------- 1. consent

  function showConsent() {
    var vars = { org: org(), title: docTitle() };
    var box = h("input", {
      type: "checkbox",
      id: "consent-agree",
      name: "consent",
      "aria-describedby": "consent-error",
    });
    var error = h("p", { id: "consent-error", class: "field-error" });
    var button = h("button", { type: "submit", class: "button button-primary" }, t("continue"));
    var title = heading("consent-title", t("consentTitle"));

    function section(titleKey, textKey) {
      return h(
        "section",
        { class: "signer-disclosure-part" },
        h("h3", null, t(titleKey)),
        h("p", null, t(textKey, vars))
      );
    }

    var form = h(
      "form",
      {
        class: "signer-consent-form",
        novalidate: true,
        onsubmit: function (event) {
          event.preventDefault();
          if (!box.checked) {
            error.textContent = t("consentRequired");
            box.setAttribute("aria-invalid", "true");
            box.focus();
            return;
          }
          error.textContent = "";
          box.removeAttribute("aria-invalid");
          showAlert("");
          var done = busy(button, t("working"));
          api("POST", "/consent", {}).then(
            function () {
              state.data.state = "sign";
              if (state.data.recipient) state.data.recipient.consented = true;
              showSign();
            },
            function (err) {
              done();
              handleActionError(err);
            }
          );
        },
      },
      h(
        "label",
        { class: "signer-check signer-check-strong", for: "consent-agree" },
        box,
        h("span", null, t("consentCheck"))
      ),
      error,
      h("div", { class: "signer-actions" }, button)
    );

    box.addEventListener("change", function () {
      if (box.checked) {
        error.textContent = "";
        box.removeAttribute("aria-invalid");
      }
    });

    setView(
      [
        h(
          "section",
          { class: "signer-card signer-consent", "aria-labelledby": "consent-title" },
          title,
          h("p", { class: "signer-lead" }, t("consentIntro", vars)),
          section("consentAgreeTitle", "consentAgree"),
          section("consentPaperTitle", "consentPaper"),
          section("consentWithdrawTitle", "consentWithdraw"),
          section("consentNeedsTitle", "consentNeeds"),
          section("consentContactTitle", "consentContact"),
          form
        ),
        secondaryActions(false),
      ],
      title
    );
  }

  // ---------------------------------------------------------------- 2. sign

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

  function markOwnSignatureBox(container) {
    var role = state.data.recipient && state.data.recipient.role;
    if (!role) return;
    Array.prototype.forEach.call(container.querySelectorAll(".cs-signature"), function (block) {
      if (block.getAttribute("data-role") === role) {
        block.classList.add("cs-signature-you");
        var box = block.querySelector(".cs-signature-box");
        if (box) box.setAttribute("data-you", t("youSignHere"));
      }
    });
  }

  function showSign() {
    var data = state.data;
    var recipient = data.recipient || {};
    var approver = recipient.kind === "approver";
    var fields = (data.fields || []).filter(function (f) {
      return SIGNING_TYPES.indexOf(f.type) < 0;
    });
    state.controls = {};
    state.pad = null;

    var documentBox = h("div", {
      class: "signer-document",
      role: "region",
      "aria-label": t("documentLabel", { title: docTitle() }),
    });
    documentBox.appendChild(documentFragment(data.document && data.document.html));
    markOwnSignatureBox(documentBox);

    var title = heading("review-title", t("reviewTitle"));
    var review = h(
      "section",
      { class: "signer-card signer-review", "aria-labelledby": "review-title" },
      h("div", { class: "signer-card-head" }, title, pdfLink()),
      documentBox
    );

    var submit = h(
      "button",
      { type: "submit", class: "button button-primary button-wide", id: "signer-submit" },
      approver ? t("approve") : t("sign")
    );
    var form = h(
      "form",
      { class: "signer-card signer-form", novalidate: true, "aria-label": approver ? t("approve") : t("sign") },
      fields.length ? detailsSection(fields) : null,
      approver ? null : signatureSection(recipient.name || ""),
      h("p", { class: "signer-intent", id: "signer-intent" }, approver ? t("intentApprove") : t("intentSign")),
      h("div", { class: "signer-actions" }, submit)
    );
    submit.setAttribute("aria-describedby", "signer-intent");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submitSignature(form, submit, approver, fields);
    });

    setView([review, form, secondaryActions(true)], title);
    if (state.pad) state.pad.resize();
  }

  // ---- the recipient's fields

  function detailsSection(fields) {
    var anyRequired = fields.some(function (f) {
      return f.required;
    });
    return h(
      "section",
      { class: "signer-details", "aria-labelledby": "details-title" },
      h("h2", { id: "details-title", class: "signer-subtitle" }, t("detailsTitle")),
      anyRequired ? h("p", { class: "hint" }, t("requiredNote")) : null,
      fields.map(fieldControl)
    );
  }

  function fieldLabel(field) {
    return [
      field.label,
      field.required
        ? [
          h("span", { class: "required-mark", "aria-hidden": "true" }, " *"),
          h("span", { class: "visually-hidden" }, " (" + t("required") + ")"),
        ]
        : null,
    ];
  }

  function fieldControl(field) {
    var id = "field-" + field.key;
    var errorId = id + "-error";
    var error = h("p", { id: errorId, class: "field-error" });
    var rules = field.validation || {};
    var value = field.value;
    var wrapper;
    var control;
    var read;
    var focus;

    if (field.type === "multi_select") {
      var chosen = Array.isArray(value) ? value : [];
      var boxes = (field.options || []).map(function (option, index) {
        return h("input", {
          type: "checkbox",
          id: id + "-" + index,
          name: field.key,
          value: option,
          checked: chosen.indexOf(option) >= 0,
        });
      });
      wrapper = h(
        "fieldset",
        { class: "signer-field signer-fieldset", "aria-describedby": errorId },
        h("legend", null, fieldLabel(field)),
        boxes.map(function (box, index) {
          return h("label", { class: "signer-check", for: box.id }, box, h("span", null, field.options[index]));
        }),
        error
      );
      read = function () {
        return boxes.filter(function (b) {
          return b.checked;
        }).map(function (b) {
          return b.value;
        });
      };
      focus = function () {
        if (boxes[0]) boxes[0].focus();
      };
      control = wrapper;
    } else if (field.type === "checkbox") {
      control = h("input", {
        type: "checkbox",
        id: id,
        name: field.key,
        checked: value === true,
        "aria-describedby": errorId,
        "aria-required": field.required ? "true" : null,
      });
      wrapper = h(
        "div",
        { class: "signer-field" },
        h("label", { class: "signer-check", for: id }, control, h("span", null, fieldLabel(field))),
        error
      );
      read = function () {
        return control.checked;
      };
    } else {
      if (field.type === "long_text") {
        control = h("textarea", { rows: "4" });
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
        var attrs = { type: "text" };
        if (field.type === "number" || field.type === "currency") {
          attrs.inputmode = "decimal";
          attrs.autocomplete = "off";
        } else if (field.type === "date") {
          attrs.type = "date";
        } else if (field.type === "email") {
          attrs.type = "email";
          attrs.autocomplete = "email";
          attrs.spellcheck = "false";
        } else if (field.type === "phone") {
          attrs.type = "tel";
          attrs.autocomplete = "tel";
        }
        control = h("input", attrs);
        if (field.type === "currency") control.classList.add("input-currency");
      }
      control.id = id;
      control.name = field.key;
      control.setAttribute("aria-describedby", errorId);
      if (field.required) control.setAttribute("aria-required", "true");
      if (rules.max_length && (field.type === "text" || field.type === "long_text" ||
        field.type === "email" || field.type === "phone")) {
        control.setAttribute("maxlength", String(rules.max_length));
      }
      if (value !== null && value !== undefined) control.value = String(value);
      wrapper = h(
        "div",
        { class: "signer-field" },
        h("label", { for: id }, fieldLabel(field)),
        control,
        error
      );
      read = function () {
        return control.value;
      };
    }

    focus = focus || function () {
      control.focus();
    };
    state.controls[field.key] = {
      field: field,
      read: read,
      focus: focus,
      setError: function (message) {
        error.textContent = message || "";
        var target = field.type === "multi_select" ? wrapper : control;
        if (message) target.setAttribute("aria-invalid", "true");
        else target.removeAttribute("aria-invalid");
        wrapper.classList.toggle("has-error", !!message);
      },
    };
    var clear = function () {
      state.controls[field.key].setError("");
    };
    wrapper.addEventListener("input", clear);
    wrapper.addEventListener("change", clear);
    return wrapper;
  }

  var EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
  var PHONE = /^\+?[0-9 ()./-]{5,25}$/;
  var NUMBER = /^-?(\d+(\.\d*)?|\.\d+)$/;

  function compiledRegex(source) {
    try {
      return new RegExp("^(?:" + source + ")$", "u");
    } catch (ignored) {
      return null; // a Python-only pattern: the server checks it
    }
  }

  /** [value to send, error message or ""] for one field, mirroring the server's checks. */
  function checkField(field, raw) {
    var rules = field.validation || {};
    var type = field.type;
    if (type === "checkbox") {
      return [raw, field.required && !raw ? t("tickRequired") : ""];
    }
    if (type === "multi_select") {
      return [raw.length ? raw : null, field.required && !raw.length ? t("chooseAtLeastOne") : ""];
    }
    var text = type === "long_text" ? String(raw) : String(raw).trim();
    if (!text.trim()) {
      var missing = type === "select" ? t("chooseRequired") : t("fieldRequired");
      return [null, field.required ? missing : ""];
    }
    if (type === "number" || type === "currency") {
      var normal = text.replace(/\s+/g, "");
      if (/^-?\d+,\d+$/.test(normal)) normal = normal.replace(",", ".");
      if (!NUMBER.test(normal)) return [text, t("notNumber")];
      var number = Number(normal);
      if (rules.min !== null && rules.min !== undefined && number < rules.min) {
        return [normal, t("atLeast", { n: rules.min })];
      }
      if (rules.max !== null && rules.max !== undefined && number > rules.max) {
        return [normal, t("atMost", { n: rules.max })];
      }
      return [normal, ""];
    }
    if (rules.max_length && text.length > rules.max_length) {
      return [text, t("tooLong", { n: rules.max_length })];
    }
    if (type === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(text)) return [text, t("notDate")];
    if (type === "email" && !EMAIL.test(text)) return [text, t("notEmail")];
    if (type === "phone" && !PHONE.test(text)) return [text, t("notPhone")];
    if (type === "select" && (field.options || []).indexOf(text) < 0) {
      return [text, t("chooseRequired")];
    }
    if (rules.regex) {
      var pattern = compiledRegex(rules.regex);
      if (pattern && !pattern.test(text)) return [text, t("badFormat")];
    }
    return [text, ""];
  }

  // ---- signature adoption

  function signatureSection(name) {
    var tabs = [
      { mode: "drawn", id: "tab-draw", panel: "panel-draw", label: t("draw") },
      { mode: "typed", id: "tab-type", panel: "panel-type", label: t("type") },
    ];
    var canvas = h("canvas", { class: "signature-pad", role: "img", "aria-label": t("padLabel") });
    var clearButton = h("button", { type: "button", class: "button button-secondary button-small" }, t("clear"));
    var typed = h("input", {
      type: "text",
      id: "typed-name",
      name: "typed_name",
      value: name,
      maxlength: String(TYPED_MAX),
      autocomplete: "name",
      spellcheck: "false",
      "aria-describedby": "signature-error",
    });
    var preview = h("div", { class: "typed-preview", "aria-hidden": "true" }, name);
    var error = h("p", { id: "signature-error", class: "field-error" });

    var tabButtons = tabs.map(function (tab) {
      return h(
        "button",
        {
          type: "button",
          role: "tab",
          id: tab.id,
          class: "signer-tab",
          "aria-controls": tab.panel,
          "data-mode": tab.mode,
        },
        tab.label
      );
    });
    var drawPanel = h(
      "div",
      { role: "tabpanel", id: "panel-draw", class: "signer-tabpanel", "aria-labelledby": "tab-draw" },
      h(
        "div",
        { class: "signature-pad-frame" },
        canvas,
        h("span", { class: "signature-pad-line", "aria-hidden": "true" }),
        h("span", { class: "signature-pad-hint", "aria-hidden": "true" }, t("signAbove"))
      ),
      h("div", { class: "signature-pad-tools" }, clearButton)
    );
    var typePanel = h(
      "div",
      { role: "tabpanel", id: "panel-type", class: "signer-tabpanel", "aria-labelledby": "tab-type" },
      h("div", { class: "signer-field" }, h("label", { for: "typed-name" }, t("typedLabel")), typed),
      h(
        "figure",
        { class: "typed-preview-frame" },
        h("figcaption", { class: "visually-hidden" }, t("typedPreviewLabel")),
        preview
      )
    );

    function select(mode, moveFocus) {
      state.signatureMode = mode;
      tabButtons.forEach(function (button) {
        var on = button.getAttribute("data-mode") === mode;
        button.setAttribute("aria-selected", on ? "true" : "false");
        button.setAttribute("tabindex", on ? "0" : "-1");
        if (on && moveFocus) button.focus();
      });
      drawPanel.hidden = mode !== "drawn";
      typePanel.hidden = mode !== "typed";
      error.textContent = "";
      if (mode === "drawn" && state.pad) state.pad.resize();
    }

    tabButtons.forEach(function (button, index) {
      button.addEventListener("click", function () {
        select(button.getAttribute("data-mode"), false);
      });
      button.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight" || event.key === "ArrowDown") next = (index + 1) % tabs.length;
        else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = (index + tabs.length - 1) % tabs.length;
        else if (event.key === "Home") next = 0;
        else if (event.key === "End") next = tabs.length - 1;
        if (next === null) return;
        event.preventDefault();
        select(tabs[next].mode, true);
      });
    });

    typed.addEventListener("input", function () {
      preview.textContent = typed.value;
      error.textContent = "";
    });

    state.pad = createPad(canvas, function () {
      error.textContent = "";
      root.classList.toggle("pad-has-ink", !state.pad.isEmpty());
    });
    clearButton.addEventListener("click", function () {
      state.pad.clear();
      root.classList.remove("pad-has-ink");
    });
    state.signatureError = error;
    state.typedInput = typed;
    state.focusSignature = function () {
      var selected = tabButtons.filter(function (b) {
        return b.getAttribute("aria-selected") === "true";
      })[0];
      if (state.signatureMode === "typed") typed.focus();
      else if (selected) selected.focus();
    };

    var section = h(
      "section",
      { class: "signer-signature", "aria-labelledby": "signature-title" },
      h("h2", { id: "signature-title", class: "signer-subtitle" }, t("signatureTitle")),
      h("div", { role: "tablist", class: "signer-tabs", "aria-label": t("howToSign") }, tabButtons),
      drawPanel,
      typePanel,
      error
    );
    select("drawn", false);
    return section;
  }

  function createPad(canvas, onChange) {
    var context = canvas.getContext("2d");
    var strokes = [];
    var current = null;
    var ratio = 1;
    var width = 0;
    var height = 0;

    function resize() {
      var box = canvas.getBoundingClientRect();
      if (!box.width || !box.height) return;
      ratio = Math.max(1, window.devicePixelRatio || 1);
      width = box.width;
      height = box.height;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      redraw();
    }

    function style() {
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#14286b";
      context.fillStyle = "#14286b";
    }

    function lineWidth(point) {
      // Pens report pressure; mice and most fingers report 0.5 (or 0 when unknown).
      var pressure = point.pointer === "pen" && point.pressure > 0 ? point.pressure : 0.5;
      return 1.4 + pressure * 2.2;
    }

    function drawSegment(stroke, index) {
      var points = stroke.points;
      var point = points[index];
      if (index === 0) {
        context.beginPath();
        context.arc(point.x, point.y, lineWidth(point) / 2, 0, Math.PI * 2);
        context.fill();
        return;
      }
      var previous = points[index - 1];
      var before = points[index - 2] || previous;
      context.lineWidth = lineWidth(point);
      context.beginPath();
      context.moveTo((before.x + previous.x) / 2, (before.y + previous.y) / 2);
      context.quadraticCurveTo(previous.x, previous.y, (previous.x + point.x) / 2, (previous.y + point.y) / 2);
      context.stroke();
    }

    function redraw() {
      style();
      context.clearRect(0, 0, width, height);
      strokes.forEach(function (stroke) {
        for (var i = 0; i < stroke.points.length; i++) drawSegment(stroke, i);
      });
    }

    function pointFrom(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: event.clientX - box.left,
        y: event.clientY - box.top,
        pressure: event.pressure,
        pointer: event.pointerType,
      };
    }

    function add(event) {
      var point = pointFrom(event);
      var points = current.points;
      var last = points[points.length - 1];
      if (last && Math.abs(last.x - point.x) < 0.5 && Math.abs(last.y - point.y) < 0.5) return;
      points.push(point);
      style();
      drawSegment(current, points.length - 1);
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      if (current) return; // one finger draws; a second one is ignored
      event.preventDefault();
      if (!width) resize();
      try {
        canvas.setPointerCapture(event.pointerId);
      } catch (ignored) {
        /* capture is a nicety */
      }
      current = { id: event.pointerId, points: [] };
      strokes.push(current);
      add(event);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current || event.pointerId !== current.id) return;
      event.preventDefault();
      var events = typeof event.getCoalescedEvents === "function" ? event.getCoalescedEvents() : [];
      (events.length ? events : [event]).forEach(add);
    });
    function end(event) {
      if (!current || event.pointerId !== current.id) return;
      current = null;
      onChange();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    canvas.addEventListener("lostpointercapture", end);

    if (typeof ResizeObserver === "function") {
      new ResizeObserver(function () {
        resize();
      }).observe(canvas);
    } else {
      window.addEventListener("resize", resize);
    }

    return {
      resize: resize,
      clear: function () {
        strokes.length = 0;
        current = null;
        redraw();
        onChange();
      },
      /** Empty unless some stroke travelled a few pixels: a tap or a stray dot is not a signature. */
      isEmpty: function () {
        var travelled = 0;
        strokes.forEach(function (stroke) {
          for (var i = 1; i < stroke.points.length; i++) {
            var a = stroke.points[i - 1];
            var b = stroke.points[i];
            travelled += Math.sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y));
          }
        });
        return travelled < 12;
      },
      toDataURL: function () {
        return canvas.toDataURL("image/png");
      },
    };
  }

  // ---- complete

  function submitSignature(form, submit, approver, fields) {
    showAlert("");
    var values = {};
    var firstInvalid = null;
    fields.forEach(function (field) {
      var control = state.controls[field.key];
      var checked = checkField(field, control.read());
      values[field.key] = checked[0];
      control.setError(checked[1]);
      if (checked[1] && !firstInvalid) firstInvalid = control;
    });

    var body = { fields: values };
    var signatureProblem = "";
    if (!approver) {
      if (state.signatureMode === "drawn") {
        if (!state.pad || state.pad.isEmpty()) signatureProblem = t("drawEmpty");
        else body.signature = { kind: "drawn", value: state.pad.toDataURL() };
      } else {
        var name = state.typedInput.value.trim();
        if (!name) signatureProblem = t("typedEmpty");
        else body.signature = { kind: "typed", value: name };
      }
      state.signatureError.textContent = signatureProblem;
    }

    if (firstInvalid || signatureProblem) {
      showAlert(firstInvalid ? t("checkFields") : signatureProblem);
      if (firstInvalid) firstInvalid.focus();
      else state.focusSignature();
      return;
    }

    var done = busy(submit, approver ? t("approving") : t("signing"));
    api("POST", "/complete", body).then(
      function (result) {
        state.data.return_url = result.return_url || state.data.return_url;
        state.data.envelope.status = result.envelope_status || state.data.envelope.status;
        state.data.recipient.status = result.status || "signed";
        state.data.state = "done";
        showDone(approver ? "approved" : "signed", result.envelope_status);
        notifyParent("countersign:signed");
      },
      function (error) {
        done();
        if (error instanceof ApiError && error.status === 422) {
          showFieldErrors(error);
          return;
        }
        handleActionError(error);
      }
    );
  }

  function showFieldErrors(error) {
    var first = null;
    var general = [];
    (error.errors || []).forEach(function (item) {
      var path = String(item.path || "");
      var message = item.message || error.detail || "";
      if (path.indexOf("fields.") === 0 && state.controls[path.slice(7)]) {
        var control = state.controls[path.slice(7)];
        control.setError(sentence(control.field.label, message));
        if (!first) first = control;
      } else if (path.indexOf("signature") === 0 && state.signatureError) {
        state.signatureError.textContent = message;
        if (!first) first = { focus: state.focusSignature };
      } else if (message) {
        general.push(message);
      }
    });
    var message = general.length ? general.join(" ") : first ? t("checkFields") : errorText(error);
    showAlert(message);
    notifyParent("countersign:error", message);
    if (first) first.focus();
  }

  /** The server says "is longer than 40 characters"; show "Purchase order number is longer…". */
  function sentence(label, message) {
    return /^[a-z]/.test(message) ? label + " " + message : message;
  }

  function handleActionError(error) {
    if (error instanceof ApiError && error.status === 401) {
      showFatal(t("expired"));
      notifyParent("countersign:error", t("expired"));
      return;
    }
    reportError(error);
  }

  // ---- decline and withdraw

  function secondaryActions(consented) {
    var actions = h("div", { class: "signer-secondary" });
    actions.appendChild(
      h("button", { type: "button", class: "link-button", onclick: openDecline }, t("declineLink"))
    );
    if (consented) {
      actions.appendChild(
        h("button", { type: "button", class: "link-button", onclick: openWithdraw }, t("withdrawLink"))
      );
    }
    return actions;
  }

  function modal(titleId, content) {
    var dialog = h("dialog", { class: "signer-dialog", "aria-labelledby": titleId }, content);
    dialog.addEventListener("close", function () {
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    return dialog;
  }

  function openDecline(event) {
    var opener = event && event.currentTarget;
    var reason = h("textarea", {
      id: "decline-reason",
      name: "reason",
      rows: "4",
      maxlength: String(DECLINE_MAX),
      "aria-required": "true",
      "aria-describedby": "decline-count decline-error",
    });
    var count = h("p", { id: "decline-count", class: "hint" }, t("declineCount", { n: 0 }));
    var error = h("p", { id: "decline-error", class: "field-error", role: "alert" });
    var confirm = h("button", { type: "submit", class: "button button-danger" }, t("declineConfirm"));
    var cancel = h("button", { type: "button", class: "button button-secondary" }, t("cancel"));
    var dialog;
    var form = h(
      "form",
      { novalidate: true },
      h("h2", { id: "decline-title" }, t("declineTitle")),
      h("p", null, t("declineIntro", { org: org() })),
      h(
        "div",
        { class: "signer-field" },
        h("label", { for: "decline-reason" }, t("declineReason"),
          h("span", { class: "required-mark", "aria-hidden": "true" }, " *"),
          h("span", { class: "visually-hidden" }, " (" + t("required") + ")")),
        reason,
        count
      ),
      error,
      h("div", { class: "signer-actions signer-dialog-actions" }, cancel, confirm)
    );
    reason.addEventListener("input", function () {
      count.textContent = t("declineCount", { n: reason.value.length });
      error.textContent = "";
      reason.removeAttribute("aria-invalid");
    });
    cancel.addEventListener("click", function () {
      dialog.close();
      if (opener) opener.focus();
    });
    form.addEventListener("submit", function (submitEvent) {
      submitEvent.preventDefault();
      var text = reason.value.trim();
      var problem = !text ? t("declineRequired") : text.length > DECLINE_MAX ? t("declineTooLong") : "";
      if (problem) {
        error.textContent = problem;
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      var done = busy(confirm, t("declining"));
      api("POST", "/decline", { reason: text }).then(
        function () {
          dialog.close();
          state.data.state = "done";
          state.data.recipient.status = "declined";
          showDone("declined");
          notifyParent("countersign:declined");
        },
        function (err) {
          done();
          if (err instanceof ApiError && err.status === 401) {
            dialog.close();
            handleActionError(err);
            return;
          }
          var message = err instanceof ApiError && err.status === 422 && err.errors.length
            ? err.errors[0].message || errorText(err)
            : errorText(err);
          error.textContent = message;
          notifyParent("countersign:error", message);
        }
      );
    });
    dialog = modal("decline-title", form);
    reason.focus();
  }

  function openWithdraw(event) {
    var opener = event && event.currentTarget;
    var error = h("p", { id: "withdraw-error", class: "field-error", role: "alert" });
    var confirm = h("button", { type: "submit", class: "button button-danger" }, t("withdrawConfirm"));
    var cancel = h("button", { type: "button", class: "button button-secondary" }, t("cancel"));
    var dialog;
    var form = h(
      "form",
      { novalidate: true },
      h("h2", { id: "withdraw-title" }, t("withdrawTitle")),
      h("p", null, t("withdrawText", { org: org() })),
      error,
      h("div", { class: "signer-actions signer-dialog-actions" }, cancel, confirm)
    );
    cancel.addEventListener("click", function () {
      dialog.close();
      if (opener) opener.focus();
    });
    form.addEventListener("submit", function (submitEvent) {
      submitEvent.preventDefault();
      var done = busy(confirm, t("working"));
      api("POST", "/withdraw-consent", {}).then(
        function () {
          dialog.close();
          state.data.state = "consent";
          state.data.recipient.consented = false;
          showWithdrawn();
        },
        function (err) {
          done();
          if (err instanceof ApiError && err.status === 401) {
            dialog.close();
            handleActionError(err);
            return;
          }
          error.textContent = errorText(err);
          notifyParent("countersign:error", errorText(err));
        }
      );
    });
    dialog = modal("withdraw-title", form);
    cancel.focus();
  }

  function showWithdrawn() {
    var title = heading("withdrawn-title", t("withdrawnTitle"));
    setView(
      h(
        "section",
        { class: "signer-card signer-notice", "aria-labelledby": "withdrawn-title" },
        title,
        h("p", null, t("withdrawnText", { org: org() })),
        h(
          "div",
          { class: "signer-actions" },
          h("button", { type: "button", class: "button button-secondary", onclick: showConsent }, t("consentAgain"))
        )
      ),
      title
    );
  }

  // ---------------------------------------------------------------- 3. done, 4. waiting / closed

  function showDone(outcome, envelopeStatus) {
    var vars = { org: org(), title: docTitle() };
    var titleKey = outcome === "declined" ? "declinedTitle" : outcome === "approved" ? "approvedTitle" : "signedTitle";
    var text;
    if (outcome === "declined") text = t("declinedText", vars);
    else if (envelopeStatus === "completed") text = t("signedCompleted", vars);
    else if (envelopeStatus) text = t("signedPending", vars);
    else text = t("doneText");
    var returnUrl = safeReturnUrl(state.data.return_url);
    var title = heading("done-title", t(titleKey));
    showAlert("");
    announce(t(titleKey));
    setView(
      h(
        "section",
        { class: "signer-card signer-done signer-done-" + outcome, "aria-labelledby": "done-title" },
        h("span", { class: "signer-done-mark", "aria-hidden": "true" }),
        title,
        h("p", { class: "signer-lead" }, text),
        h(
          "div",
          { class: "signer-actions signer-actions-stack" },
          returnUrl
            ? h(
              "a",
              {
                class: "button button-primary",
                href: returnUrl,
                target: window.parent !== window ? "_top" : null,
                rel: "noopener",
              },
              t("continueTo")
            )
            : null,
          pdfLink()
        )
      ),
      title
    );
  }

  function showBlocked(kind) {
    var title = heading("blocked-title", kind === "waiting" ? t("waitingTitle") : t("closedTitle"));
    setView(
      h(
        "section",
        { class: "signer-card signer-notice signer-" + kind, "aria-labelledby": "blocked-title" },
        title,
        h("p", { class: "signer-lead" }, state.data.blocked_reason || "")
      ),
      title
    );
  }

  function showFatal(message) {
    var title = h("h1", { id: "fatal-title", class: "signer-title", tabindex: "-1" }, message);
    header.hidden = true;
    showAlert("");
    setView(
      h("section", { class: "signer-card signer-notice signer-fatal", role: "alert", "aria-labelledby": "fatal-title" }, title),
      title
    );
  }

  function showState() {
    var data = state.data;
    var current = data.state;
    if (current === "consent") showConsent();
    else if (current === "sign") showSign();
    else if (current === "done") {
      var status = data.recipient && data.recipient.status;
      showDone(status === "declined" ? "declined" : data.recipient && data.recipient.kind === "approver" ? "approved" : "signed");
    } else if (current === "waiting") showBlocked("waiting");
    else showBlocked("closed");
  }

  // ---------------------------------------------------------------- start

  function remember(sessionToken) {
    try {
      window.sessionStorage.setItem(STORE_PREFIX + originalToken, sessionToken);
    } catch (ignored) {
      /* storage may be off or partitioned: a reload then needs a new link */
    }
  }

  function remembered() {
    try {
      return window.sessionStorage.getItem(STORE_PREFIX + originalToken);
    } catch (ignored) {
      return null;
    }
  }

  function load() {
    var saved = remembered();
    var first = saved ? api("GET", "", undefined, saved) : Promise.reject(null);
    return first.catch(function () {
      return api("GET", "", undefined, originalToken);
    });
  }

  function start() {
    document.documentElement.lang = LANG;
    if (!originalToken) {
      showFatal(t("expired"));
      return;
    }
    load().then(
      function (data) {
        state.data = data;
        state.token = data.session_token || originalToken;
        if (data.session_token) remember(data.session_token);
        state.loaded = true;
        renderHeader();
        showState();
        notifyParent("countersign:loaded");
      },
      function (error) {
        root.setAttribute("aria-busy", "false");
        showFatal(errorText(error));
      }
    );
  }

  if (root) start();
})();
