// ALTCHA widget set-up for a strict CSP: the "external" build ships no inline workers, so the
// proof-of-work worker is registered here from a file under /static (RECIPES.md › ALTCHA).
(function () {
  "use strict";
  var altcha = globalThis.$altcha;
  if (!altcha || !altcha.algorithms) { return; }
  var pbkdf2 = function () { return new Worker("/static/vendor/altcha/workers/pbkdf2.js"); };
  ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"].forEach(function (name) {
    altcha.algorithms.set(name, pbkdf2);
  });
})();
