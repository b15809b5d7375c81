// "Copy" buttons: copies data-copy to the clipboard and says so, on the button and to screen readers through a
// role="status" live region (served from our origin, CSP 'self').
(function () {
  var status = document.createElement('p');
  status.className = 'visually-hidden';
  status.setAttribute('role', 'status');
  document.body.appendChild(status);

  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-copy]');
    if (!b || !navigator.clipboard) return;
    navigator.clipboard.writeText(b.getAttribute('data-copy')).then(function () {
      if (!b.hasAttribute('data-label')) b.setAttribute('data-label', b.textContent);
      b.textContent = 'Copied';
      // emptied first, so that copying twice is announced twice
      status.textContent = '';
      setTimeout(function () { status.textContent = 'Copied'; }, 100);
      clearTimeout(b.copyTimer);
      b.copyTimer = setTimeout(function () {
        b.textContent = b.getAttribute('data-label');
        status.textContent = '';
      }, 1500);
    });
  });
})();
