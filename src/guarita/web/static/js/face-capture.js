// Validação facial (recovery/face.html): ask for a challenge, open the front camera, film the
// movements asked (~1 s each, a few JPEG frames), send them, follow the answer.
// The instructions are text in an aria-live region, so screen readers say them too.
// Plain ES5 with promises (old Android phones); no inline script (CSP).
(function () {
  "use strict";
  var root = document.querySelector("[data-face-capture]");
  if (!root) {
    return;
  }
  var FRAMES_PER_MOVEMENT = 4;
  var PREPARE_SECONDS = 3;
  var PAUSE_MS = 1500;
  var icons = {
    turn_left: "fa-arrow-left", turn_right: "fa-arrow-right", tilt_up: "fa-arrow-up",
    tilt_down: "fa-arrow-down", come_closer: "fa-expand-arrows-alt"
  };
  var start = root.querySelector("[data-face-start]");
  var stage = root.querySelector("[data-face-stage]");
  var video = root.querySelector("[data-face-video]");
  var pictogram = root.querySelector("[data-face-pictogram]");
  var instruction = root.querySelector("[data-face-instruction]");
  var errorBox = root.querySelector("[data-face-error]");
  var errorText = root.querySelector("[data-face-error-text]");
  var review = document.querySelector("[data-face-review]");
  var csrf = root.querySelector("input[name=csrf_token]").value;
  var stream = null;

  function say(text) { instruction.textContent = text; }
  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function show(movement) {
    pictogram.className = "face-pictogram " + (movement || "");
    pictogram.innerHTML = '<i class="fas ' + (icons[movement] || "fa-user") + '"></i>';
  }
  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
  }
  function fail(text, refused) {
    stop();
    stage.hidden = true;
    say("");
    errorText.textContent = text;
    errorBox.hidden = false;
    start.hidden = false;
    start.disabled = false;
    start.textContent = root.getAttribute("data-text-retry");
    if (refused && review) {
      review.hidden = false;
    }
    errorBox.setAttribute("tabindex", "-1");
    errorBox.focus();
  }
  function post(url, body) {
    return fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; });
      });
  }
  function grab() {
    var canvas = document.createElement("canvas");
    var scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", 0.85); });
  }
  function film(challenge) {
    var frames = [];
    var step = challenge.seconds_per_movement * 1000 / (FRAMES_PER_MOVEMENT - 1);
    var chain = Promise.resolve();
    challenge.movements.forEach(function (movement, index) {
      chain = chain.then(function () {
        show(movement);
        say(challenge.instructions[index]);
        var shots = Promise.resolve();
        for (var i = 0; i < FRAMES_PER_MOVEMENT; i++) {
          shots = shots.then(function (n) {
            return function () {
              return (n ? wait(step) : Promise.resolve()).then(grab).then(function (blob) {
                frames.push(blob);
              });
            };
          }(i));
        }
        return shots.then(function () {
          if (index < challenge.movements.length - 1) {
            show("");
            say(root.getAttribute("data-text-back"));
            return wait(PAUSE_MS);
          }
        });
      });
    });
    return chain.then(function () { return frames; });
  }
  function countdown(seconds) {
    var chain = Promise.resolve();
    for (var s = seconds; s > 0; s--) {
      chain = chain.then(function (n) {
        return function () {
          say(root.getAttribute("data-text-prepare") + " " + n);
          return wait(1000);
        };
      }(s));
    }
    return chain;
  }
  function begin() {
    errorBox.hidden = true;
    start.disabled = true;
    var form = new FormData();
    form.append("csrf_token", csrf);
    var challenge = null;
    post(root.getAttribute("data-challenge-url"), form).then(function (answer) {
      if (!answer.ok) {
        throw { face: true, message: answer.data.error.message };
      }
      challenge = answer.data;
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw { face: true, message: root.getAttribute("data-text-no-camera") };
      }
      return navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false
      }).catch(function () {
        throw { face: true, message: root.getAttribute("data-text-no-camera") };
      });
    }).then(function (opened) {
      stream = opened;
      video.srcObject = stream;
      stage.hidden = false;
      start.hidden = true;
      return video.play();
    }).then(function () {
      show("");
      return countdown(PREPARE_SECONDS);
    }).then(function () {
      return film(challenge);
    }).then(function (frames) {
      stop();
      show("");
      say(root.getAttribute("data-text-sending"));
      var form = new FormData();
      form.append("csrf_token", csrf);
      form.append("challenge_id", challenge.challenge_id);
      frames.forEach(function (blob, i) { form.append("frames", blob, "frame" + i + ".jpg"); });
      return post(root.getAttribute("data-submit-url"), form);
    }).then(function (answer) {
      if (answer.ok && answer.data.next) {
        window.location.assign(answer.data.next);
        return;
      }
      var error = answer.data.error || {};
      fail(error.message || root.getAttribute("data-text-failed"),
           error.code === "face_not_matched" || error.code === "liveness_failed");
    }).catch(function (problem) {
      fail(problem && problem.face ? problem.message : root.getAttribute("data-text-failed"), false);
    });
  }
  start.addEventListener("click", begin);
})();
