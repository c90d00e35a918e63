// Guarita: small progressive enhancements for every page (loaded by base.html with `defer`).
// Every page works without this file; the CSP forbids inline script, so behaviour lives here.
// Plain ES5 on purpose: many beneficiaries use old, cheap Android phones.
(function () {
  "use strict";

  function each(selector, callback) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), callback);
  }

  // "Mostrar senha" (forms.field with type="password"). The button ships `hidden` and appears
  // only when this script runs. The accessible name stays "Mostrar senha"; aria-pressed carries
  // the state (WAI-ARIA APG, toggle button). Paste is never blocked (SECURITY.md › Passwords).
  function passwordToggle(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    var icon = button.querySelector("i");
    function show(visible) {
      input.setAttribute("type", visible ? "text" : "password");
      button.setAttribute("aria-pressed", visible ? "true" : "false");
      if (icon) {
        icon.className = visible ? "fas fa-eye-slash" : "fas fa-eye";
      }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      show(input.getAttribute("type") === "password");
    });
    // Hide again before sending, so the browser offers to save a password (not a text field
    // entry in its autofill history), and when the page comes back from the back/forward cache.
    if (input.form) {
      input.form.addEventListener("submit", function () { show(false); });
    }
    window.addEventListener("pageshow", function () { show(false); });
  }

  // forms.error_summary: take focus on load so screen readers read it first, and make its links
  // bring the field *and its label* into view (a plain #anchor scrolls the label out of sight).
  function errorSummary(summary) {
    summary.addEventListener("click", function (event) {
      var link = event.target;
      while (link && link !== summary && link.tagName !== "A") {
        link = link.parentNode;
      }
      if (!link || link === summary) {
        return;
      }
      var href = link.getAttribute("href") || "";
      var field = href.charAt(0) === "#" ? document.getElementById(href.slice(1)) : null;
      if (!field) {
        return;
      }
      event.preventDefault();
      var label = document.querySelector('label[for="' + field.id.replace(/"/g, "") + '"]');
      (label || field).scrollIntoView();
      try {
        field.focus({ preventScroll: true });
      } catch (error) {
        field.focus();
      }
    });
    var active = document.activeElement;
    if (!active || active === document.body) {
      summary.focus();
    }
  }

  each("[data-password-toggle]", passwordToggle);
  each("[data-error-summary]", errorSummary);
})();
