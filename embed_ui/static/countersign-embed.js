/* Countersign embed: open the signer panel in a modal over the host page.
 *
 *   <script src="https://sign.example.com/embed.js" defer></script>
 *   Countersign.open(signingUrl, {
 *     onEvent: function (event) { ... },   // {type: "countersign:loaded" | ...:signed | ...:declined
 *                                          //  | ...:error, envelope_id, recipient_id, message?}
 *     onClose: function () { ... },
 *   });
 *
 * Styling comes from countersign-embed.css on the script's own origin (classes only, no inline
 * styles, so host pages with a strict CSP work when they allow that stylesheet and the frame).
 * Messages are accepted only from the panel's origin and from the panel's own frame.
 */
(function () {
  "use strict";

  if (window.Countersign && typeof window.Countersign.open === "function") return;

  var script = document.currentScript;
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var STYLESHEET = scriptOrigin + "/static/countersign-embed.css";
  var CLOSE_AFTER_MS = 1500;
  var spanish = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""])
    .map(function (tag) {
      return String(tag || "").toLowerCase();
    })
    .filter(function (tag) {
      return /^(en|es)(-|$)/.test(tag);
    })
    .concat(["en"])[0]
    .indexOf("es") === 0;
  var TEXT = spanish
    ? { dialog: "Firmar el documento", frame: "Firma de documento de Countersign", close: "Cerrar" }
    : { dialog: "Sign the document", frame: "Countersign document signing", close: "Close" };

  var current = null;

  function ensureStylesheet() {
    var links = document.querySelectorAll("link[data-countersign-embed]");
    if (links.length) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = STYLESHEET;
    link.setAttribute("data-countersign-embed", "");
    (document.head || document.documentElement).appendChild(link);
  }

  function open(url, options) {
    options = options || {};
    if (current) current.close("replaced");

    var target = new URL(url, location.href);
    if (target.protocol !== "https:" && target.protocol !== "http:") {
      throw new Error("Countersign.open: the signing URL must be http(s)");
    }
    var panelOrigin = target.origin;
    var previousFocus = document.activeElement;
    var closed = false;
    var closeTimer = null;

    ensureStylesheet();

    var overlay = document.createElement("div");
    overlay.className = "countersign-overlay";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", TEXT.dialog);

    var modal = document.createElement("div");
    modal.className = "countersign-modal";

    var bar = document.createElement("div");
    bar.className = "countersign-bar";

    var closeButton = document.createElement("button");
    closeButton.type = "button";
    closeButton.className = "countersign-close";
    closeButton.setAttribute("aria-label", TEXT.close);
    closeButton.title = TEXT.close;
    var cross = document.createElement("span");
    cross.className = "countersign-close-icon";
    cross.setAttribute("aria-hidden", "true");
    closeButton.appendChild(cross);

    var iframe = document.createElement("iframe");
    iframe.className = "countersign-frame";
    iframe.title = TEXT.frame;
    // The panel finds this page's origin (location.ancestorOrigins, else the referrer's origin).
    iframe.referrerPolicy = "origin";
    iframe.src = target.href;

    var barTitle = document.createElement("span");
    barTitle.className = "countersign-bar-title";
    barTitle.setAttribute("aria-hidden", "true"); // the dialog's aria-label says the same
    barTitle.textContent = TEXT.dialog;
    bar.appendChild(barTitle);
    bar.appendChild(closeButton);
    modal.appendChild(bar);
    modal.appendChild(iframe);
    overlay.appendChild(modal);
    document.body.appendChild(overlay);
    document.documentElement.classList.add("countersign-open");

    function onMessage(event) {
      if (event.origin !== panelOrigin || event.source !== iframe.contentWindow) return;
      var data = event.data;
      if (!data || typeof data !== "object" || typeof data.type !== "string") return;
      if (data.type.indexOf("countersign:") !== 0) return;
      if (typeof options.onEvent === "function") {
        try {
          options.onEvent(data);
        } catch (error) {
          setTimeout(function () {
            throw error;
          });
        }
      }
      if ((data.type === "countersign:signed" || data.type === "countersign:declined") && !closeTimer) {
        closeTimer = setTimeout(function () {
          close(data.type.slice("countersign:".length));
        }, options.closeDelay === undefined ? CLOSE_AFTER_MS : options.closeDelay);
      }
    }

    function onKeydown(event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        close("dismissed");
      }
    }

    // Keep keyboard focus inside the modal: focus that lands elsewhere on the page comes back.
    function onFocusIn(event) {
      if (!overlay.contains(event.target)) closeButton.focus();
    }

    function close(reason) {
      if (closed) return;
      closed = true;
      if (closeTimer) clearTimeout(closeTimer);
      window.removeEventListener("message", onMessage);
      document.removeEventListener("keydown", onKeydown, true);
      document.removeEventListener("focusin", onFocusIn, true);
      overlay.remove();
      document.documentElement.classList.remove("countersign-open");
      if (current === handle) current = null;
      if (previousFocus && typeof previousFocus.focus === "function") previousFocus.focus();
      if (typeof options.onClose === "function") options.onClose(reason || "closed");
    }

    closeButton.addEventListener("click", function () {
      close("dismissed");
    });
    window.addEventListener("message", onMessage);
    document.addEventListener("keydown", onKeydown, true);
    document.addEventListener("focusin", onFocusIn, true);
    iframe.focus();

    var handle = { close: close, iframe: iframe, origin: panelOrigin };
    current = handle;
    return handle;
  }

  window.Countersign = { open: open, version: "1" };
})();
