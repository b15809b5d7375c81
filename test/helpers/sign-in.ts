// Signing in to a Gatehouse page with the cookie-jar browser, the way a person at a browser does.
import { HttpBrowser, formOn, type Page } from './http-browser.ts';

/**
 * on Gatehouse's sign-in page `login`: the password, then the code from `code()` when Gatehouse asks for one;
 * returns the page the redirects end on
 */
export async function signInOnPage(browser: HttpBrowser, login: Page, user: { email: string; password: string }, code?: () => string): Promise<Page> {
  const form = formOn(login, '/login');
  let page = await browser.follow(await browser.request(form.action, { form: { ...form.fields, email: user.email, password: user.password } }));
  if (page.url.endsWith('/totp')) {
    const f = formOn(page, '/totp');
    page = await browser.follow(await browser.request(f.action, { form: { ...f.fields, code: code!() } }));
  }
  return page;
}
