// Passkeys (WebAuthn Level 3) for forms marked data-passkey="create" or "get": on submit, fetch
// the options from data-options-url (the form's own fields, CSRF token included, are posted),
// let the browser's authenticator answer, put the answer as JSON in the form's hidden
// "credential" field and submit the form for real. The server checks everything.
// No inline script (CSP) and no library: the base64url helpers are a few lines.
(function () {
  "use strict";

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function fromBase64url(value) {
    var text = atob(value.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((value.length + 3) % 4));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return bytes.buffer;
  }

  // The server's JSON options (RFC 4648 §5 strings) as the ArrayBuffers the browser wants.
  function creationOptions(o) {
    var options = Object.assign({}, o);
    options.challenge = fromBase64url(o.challenge);
    options.user = Object.assign({}, o.user, { id: fromBase64url(o.user.id) });
    options.excludeCredentials = (o.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromBase64url(c.id) });
    });
    return options;
  }

  function requestOptions(o) {
    var options = Object.assign({}, o);
    options.challenge = fromBase64url(o.challenge);
    options.allowCredentials = (o.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: fromBase64url(c.id) });
    });
    return options;
  }

  function asJSON(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
    }
    return JSON.stringify({
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: response
    });
  }

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) { status.textContent = text; }
  }

  function enhance(form) {
    var mode = form.getAttribute("data-passkey");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, "Este navegador não aceita chave de acesso. Use outro navegador ou outra forma de entrar.");
      return;
    }
    var busy = false;
    form.addEventListener("submit", function (event) {
      if (form.elements.credential.value) { return; }  // the real submission
      event.preventDefault();
      if (busy) { return; }
      busy = true;
      say(form, "Aguarde: siga as instruções do seu aparelho.");
      fetch(form.getAttribute("data-options-url"), {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (answer) {
        return answer.json().then(function (body) {
          if (!answer.ok) { throw new Error((body.error && body.error.message) || "Erro"); }
          return body.publicKey;
        });
      }).then(function (options) {
        return mode === "create"
          ? navigator.credentials.create({ publicKey: creationOptions(options) })
          : navigator.credentials.get({ publicKey: requestOptions(options) });
      }).then(function (credential) {
        form.elements.credential.value = asJSON(credential);
        say(form, "Confirmado. Aguarde…");
        form.submit();
      }).catch(function (error) {
        busy = false;
        var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
        say(form, cancelled
          ? "A chave de acesso não foi usada. Tente de novo ou escolha outra forma."
          : (error && error.message && error.message !== "Erro" ? error.message
            : "Não foi possível usar a chave de acesso. Tente de novo."));
      });
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(enhance);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
