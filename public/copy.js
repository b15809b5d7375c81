// "Copy" buttons: copies data-copy to the clipboard and says so (served from our origin, CSP 'self').
document.addEventListener('click', function (e) {
  var b = e.target.closest && e.target.closest('button[data-copy]');
  if (!b || !navigator.clipboard) return;
  navigator.clipboard.writeText(b.getAttribute('data-copy')).then(function () {
    var label = b.textContent;
    b.textContent = 'Copied';
    setTimeout(function () { b.textContent = label; }, 1500);
  });
});
