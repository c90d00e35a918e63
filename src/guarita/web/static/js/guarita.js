// Guarita: small progressive enhancements for every page (loaded by base.html with `defer`).
// Every page works without this file; the CSP forbids inline script, so behaviour lives here.
// Plain ES5 on purpose: many beneficiaries use old, cheap Android phones.
(function () {
  "use strict";

  function each(selector, callback) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), callback);
  }

  // "Mostrar senha" (forms.field with type="password"). The button ships `hidden` and appears
  // only when this script runs. Its words say what pressing it does — "Mostrar senha", then
  // "Ocultar senha" (the texts come translated in data-show / data-hide) — since a pressed
  // state alone is not read by everyone. Paste is never blocked (SECURITY.md › Passwords).
  function passwordToggle(button) {
    var input = document.getElementById(button.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    var icon = button.querySelector("i");
    var words = button.querySelector("span");
    function show(visible) {
      input.setAttribute("type", visible ? "text" : "password");
      if (icon) {
        icon.className = visible ? "fas fa-eye-slash" : "fas fa-eye";
      }
      if (words) {
        words.textContent = button.getAttribute(visible ? "data-hide" : "data-show");
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

  // "Não possui CPF" (forms.cpf_fields): ticking the box disables and clears the CPF field, so
  // nobody is told a blank CPF is invalid; un-ticking gives back what was typed. The server
  // accepts either answer without this script.
  function noCpf(box) {
    var input = document.getElementById(box.getAttribute("aria-controls"));
    if (!input) {
      return;
    }
    var kept = "";
    function apply() {
      if (box.checked) {
        if (input.value) {
          kept = input.value;
        }
        input.value = "";
        input.disabled = true;
      } else {
        input.disabled = false;
        if (!input.value && kept) {
          input.value = kept;
        }
      }
    }
    box.addEventListener("change", apply);
    apply();
  }

  each("[data-password-toggle]", passwordToggle);
  each("[data-no-cpf]", noCpf);
  each("[data-error-summary]", errorSummary);
})();
