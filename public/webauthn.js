// Security keys and passkeys in the browser, with @simplewebauthn/browser (served from our own origin, CSP 'self').
// Every ceremony ends in an ordinary form POST carrying the browser's JSON in a hidden field, so the server answers
// with a page as for any other step. Forms say what they need with data attributes:
//   data-webauthn="assert"   get() with data-options (JSON) or data-options-url (POST), then submit `response`
//   data-webauthn="register" create() with data-options, POST it to data-register-url, get() over the challenge that
//                            answers (the new key signs once), then submit `response`
//   data-webauthn="passkey"  passkey sign-in: autofill (conditional mediation) on load, and a button
//   data-webauthn="confirm"  a button inside an account form: get() over data-options-url, then submit `assertion`
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;

  function csrf(form) {
    var input = form.querySelector('input[name=_csrf]');
    return input ? input.value : '';
  }

  function showError(form, message) {
    var box = form.querySelector('[data-webauthn-error]') || document.querySelector('[data-webauthn-error]');
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  }

  function explain(err) {
    var name = err && err.name;
    if (name === 'AbortError') return null; // a newer ceremony took over (passkey autofill)
    if (name === 'NotAllowedError') return 'The security key did not answer, or the request was cancelled. Try again.';
    if (name === 'InvalidStateError') return 'This security key is already on your account.';
    if (name === 'SecurityError') return 'Security keys cannot be used at this address. Ask your administrator.';
    return (err && err.serverMessage) || 'Your browser could not use the security key. Try again, or choose another way.';
  }

  function post(url, form, fields) {
    var body = new URLSearchParams(fields || {});
    body.set('_csrf', csrf(form));
    return fetch(url, { method: 'POST', body: body, credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (json) {
        if (!res.ok || !json.options) {
          var e = new Error('server');
          e.serverMessage = json.message || 'That did not work. Reload the page and try again.';
          throw e;
        }
        return json.options;
      });
    });
  }

  function optionsFor(form, el) {
    var embedded = el.getAttribute('data-options');
    if (embedded) return Promise.resolve(JSON.parse(embedded));
    return post(el.getAttribute('data-options-url'), form);
  }

  function finish(form, field, json) {
    var input = form.querySelector('input[name=' + field + ']');
    input.value = JSON.stringify(json);
    form.submit();
  }

  function busy(button, on) {
    if (!button) return;
    button.disabled = on;
    button.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  function fail(form, button) {
    return function (err) {
      busy(button, false);
      var message = explain(err);
      if (message) showError(form, message);
    };
  }

  function assertForm(form) {
    var button = form.querySelector('[data-webauthn-start]');
    button.addEventListener('click', function () {
      busy(button, true);
      optionsFor(form, form)
        .then(function (options) { return lib.startAuthentication({ optionsJSON: options }); })
        .then(function (json) { finish(form, 'response', json); })
        .catch(fail(form, button));
    });
  }

  function registerForm(form) {
    var button = form.querySelector('[data-webauthn-start]');
    button.addEventListener('click', function () {
      var name = form.querySelector('input[name=name]');
      if (name && !name.reportValidity()) return;
      busy(button, true);
      lib.startRegistration({ optionsJSON: JSON.parse(form.getAttribute('data-options')) })
        .then(function (json) {
          return post(form.getAttribute('data-register-url'), form, { response: JSON.stringify(json), name: name ? name.value : '' });
        })
        .then(function (options) { return lib.startAuthentication({ optionsJSON: options }); })
        .then(function (json) { finish(form, 'response', json); })
        .catch(fail(form, button));
    });
  }

  function passkeyForm(form) {
    var button = document.querySelector('[data-webauthn-passkey]');
    var sign = function (autofill) {
      return post(form.getAttribute('data-options-url'), form)
        .then(function (options) { return lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill }); })
        .then(function (json) { finish(form, 'response', json); });
    };
    if (button) {
      button.addEventListener('click', function () {
        busy(button, true);
        sign(false).catch(fail(form, button));
      });
    }
    // autofill waits quietly in the background: its failures say nothing (the button reports its own)
    lib.browserSupportsWebAuthnAutofill().then(function (yes) {
      if (yes) sign(true).catch(function () {});
    });
  }

  function confirmButton(button) {
    var form = button.form;
    button.addEventListener('click', function () {
      var password = form.querySelector('input[type=password]');
      if (password && !password.reportValidity()) return;
      busy(button, true);
      optionsFor(form, button)
        .then(function (options) { return lib.startAuthentication({ optionsJSON: options }); })
        .then(function (json) { finish(form, 'assertion', json); })
        .catch(fail(form, button));
    });
  }

  if (!lib || !lib.browserSupportsWebAuthn()) {
    document.querySelectorAll('[data-webauthn-unsupported]').forEach(function (el) { el.hidden = false; });
    return;
  }
  document.querySelectorAll('[data-webauthn-only]').forEach(function (el) { el.hidden = false; });
  document.querySelectorAll('form[data-webauthn=assert]').forEach(assertForm);
  document.querySelectorAll('form[data-webauthn=register]').forEach(registerForm);
  document.querySelectorAll('form[data-webauthn=passkey]').forEach(passkeyForm);
  document.querySelectorAll('button[data-webauthn=confirm]').forEach(confirmButton);
})();
