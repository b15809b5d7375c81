// Show-password toggles: a button (hidden until this script runs, so it never shows without working) switches its
// password field between hidden and plain text. The button's name stays "Show password"; aria-pressed says the state.
for (const button of document.querySelectorAll('button[data-show-password]')) {
  const input = document.getElementById(button.getAttribute('aria-controls') || '');
  if (!input) continue;
  button.hidden = false;
  button.addEventListener('click', () => {
    const show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    button.setAttribute('aria-pressed', String(show));
    input.focus();
  });
  // password managers and the browser's "save password" expect a password field when the form is sent
  input.form?.addEventListener('submit', () => {
    input.type = 'password';
    button.setAttribute('aria-pressed', 'false');
  });
}
