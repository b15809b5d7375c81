// "Forgot your password?" carries the address already typed on the sign-in form, so the reset page starts filled in.
for (const link of document.querySelectorAll('a[data-forgot-password]')) {
  link.addEventListener('click', () => {
    const email = document.getElementById('email');
    if (!email || !email.value.trim()) return;
    const url = new URL(link.href, location.href);
    url.searchParams.set('email', email.value.trim().slice(0, 320));
    link.href = url.pathname + url.search;
  });
}
