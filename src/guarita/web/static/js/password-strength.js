// Progressive enhancement for password fields marked data-strength: says, while typing, how many
// characters are still missing. Only a hint: the server decides (SECURITY.md › Passwords).
(function () {
  "use strict";
  document.querySelectorAll("input[data-strength]").forEach(function (input) {
    var min = parseInt(input.getAttribute("minlength") || "15", 10);
    var note = document.createElement("p");
    note.className = "strength-hint";
    note.id = input.id + "-strength";
    note.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", note);
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.push(note.id);
    input.setAttribute("aria-describedby", described.join(" "));
    function update() {
      var length = Array.from(input.value.normalize("NFC")).length;
      if (length === 0) { note.textContent = ""; return; }
      // Texts come translated from the page (data-missing-one, data-missing-many, data-ok).
      if (length < min) {
        var missing = min - length;
        note.textContent = missing === 1 ? input.dataset.missingOne
          : input.dataset.missingMany.replace("%(n)s", String(missing));
        note.dataset.state = "short";
      } else {
        note.textContent = input.dataset.ok;
        note.dataset.state = "ok";
      }
    }
    input.addEventListener("input", update);
  });
})();
