// The sessions list on /account: browser, OS and IP of each session, when each was last active (English and German),
// and "Sign out everywhere else", which ends every other session of the user and keeps this browser's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeClient, makeUser } from '../helpers/factories.ts';
import { authorizationRequest, discover, oidc, redeem, signInOverHttp } from '../helpers/rp.ts';
import { AgentBrowser, FIREFOX_LINUX, SAFARI_IPHONE, formOn } from '../helpers/http-browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signInOnPage } from '../helpers/sign-in.ts';
import { dayText, daysFrom, fixedClock } from '../helpers/totp.ts';

/** the "last active" stamp of the user's one session, as an ISO date, or null when none was written */
async function sessionStamp(s: TestServer, userId: string): Promise<string | null> {
  const row = await s.services.db.selectFrom('oidc_payloads').select('last_active_at').where('model', '=', 'Session').where('account_id', '=', userId).executeTakeFirstOrThrow();
  return row.last_active_at ? new Date(row.last_active_at).toISOString() : null;
}

test('sessions list names browser, OS and IP of each session (from the user agent); sign out everywhere else ends the others and keeps this browser', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const other = await makeUser(s.services);
  let agent = FIREFOX_LINUX;
  const signedIn = async (u: { email: string; password: string }) => {
    const b = new AgentBrowser(agent);
    agent = SAFARI_IPHONE;
    const page = await signInOnPage(b, await b.get(`${s.issuer}/account`), u);
    assert.equal(page.url, `${s.issuer}/account`);
    return { b, page };
  };
  const laptop = await signedIn(user);
  // sessions are told apart by their login second: the phone signs in a second later
  await new Promise((r) => setTimeout(r, 1100));
  const phone = await signedIn(user);
  const stranger = await signedIn(other);
  const here = await laptop.b.get(`${s.issuer}/account`);
  assert.equal((here.body.match(/class="device-name"/g) ?? []).length, 2);
  const names = [...here.body.matchAll(/<div class="row-text">([\s\S]*?)<\/div>/g)]
    .map((m) => m[1]!)
    .filter((h) => h.includes('device-name'))
    .map((h) => h.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().replace(/ Signed in .*$/, ''));
  assert.deepEqual(names, ['This browser (Firefox on Linux) IP address 127.0.0.1', 'Safari on iOS IP address 127.0.0.1']);
  const f = formOn(here, '/account/sessions/revoke-others');
  const res = await laptop.b.request(f.action, { form: f.fields });
  assert.equal(res.headers.get('location'), '/account?done=others_signed_out');
  const after = await laptop.b.follow(res);
  assert.equal(after.status, 200, 'this browser stays signed in');
  assert.match(after.body, /You were signed out everywhere else/);
  assert.doesNotMatch(after.body, /Sign out everywhere else<\/button>/, 'nothing else to sign out');
  const phoneNow = await phone.b.request(`${s.issuer}/account`);
  assert.equal(phoneNow.status, 303, 'the other session ended');
  assert.equal((await stranger.b.request(`${s.issuer}/account`)).status, 200, "another person's session is untouched");
  const audit = await s.services.db.selectFrom('audit_events').select('data').where('event', '=', 'session.revoked').where('target_user_id', '=', user.id).execute();
  assert.deepEqual(audit.map((a) => a.data), [{ others: 1 }]);
});

/** the words of each session row of an /account page, tags gone */
function sessionRows(body: string): string[] {
  return [...body.matchAll(/<div class="row-text">([\s\S]*?)<\/div>/g)]
    .map((m) => m[1]!)
    .filter((h) => h.includes('device-name'))
    .map((h) => h.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
}

test('session-list-shows-last-active: each session says when it was last used, in English and German; the stamp is written at most every few minutes', async (t) => {
  const clock = fixedClock();
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const laptop = new AgentBrowser(FIREFOX_LINUX);
  assert.equal((await signInOnPage(laptop, await laptop.get(`${s.issuer}/account`), user)).url, `${s.issuer}/account`);
  // sessions are told apart by their login second
  clock.advance(1);
  const phone = new AgentBrowser(SAFARI_IPHONE);
  assert.equal((await signInOnPage(phone, await phone.get(`${s.issuer}/account`), user)).url, `${s.issuer}/account`);
  const phoneStamp = async () => {
    const rows = await s.services.db.selectFrom('oidc_payloads').select(['id', 'payload', 'last_active_at']).where('model', '=', 'Session').where('account_id', '=', user.id).execute();
    // the phone signed in a second after the laptop
    const row = rows.sort((a, b) => (b.payload as { loginTs: number }).loginTs - (a.payload as { loginTs: number }).loginTs)[0];
    return row?.last_active_at ? new Date(row.last_active_at).toISOString() : null;
  };

  // the phone opens its account page 6 minutes later: its session is stamped with that time (the clock's, not the database's)
  clock.advance(6 * 60);
  const usedAt = clock.now().toISOString();
  assert.equal((await phone.request(`${s.issuer}/account`)).status, 200);
  assert.equal(await phoneStamp(), usedAt);
  // used again a minute later: no new stamp (at most one write per session every few minutes)
  clock.advance(60);
  assert.equal((await phone.request(`${s.issuer}/account`)).status, 200);
  assert.equal(await phoneStamp(), usedAt, 'a session used again within minutes is not written again');

  // 18 minutes after the phone's stamp (within the sessions' idle lifetime), the laptop lists both: itself active now, the phone 18 minutes ago
  clock.advance(17 * 60);
  const en = await laptop.request(`${s.issuer}/account`);
  const rows = sessionRows(en.body);
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /^This browser \(Firefox on Linux\).* Active now$/);
  assert.match(rows[1]!, /^Safari on iOS .* Last active 18 minutes ago$/);
  assert.match(en.body, new RegExp(`<time datetime="${usedAt}"`), 'the exact time is in the markup');

  const de = await laptop.request(`${s.issuer}/account`, { headers: { 'accept-language': 'de' } });
  const deRows = sessionRows(de.body);
  assert.match(deRows[0]!, /^Dieser Browser \(Firefox auf Linux\).* Gerade aktiv$/);
  assert.match(deRows[1]!, /^Safari auf iOS .* Zuletzt aktiv vor 18 Minuten$/);

  // a session last used a week or more ago says the day (written into the row: sessions do not idle that long here)
  const weekAgo = daysFrom(clock.now(), -8);
  await s.services.db.updateTable('oidc_payloads').set({ last_active_at: weekAgo }).where('model', '=', 'Session').where('account_id', '=', user.id).where('last_active_at', 'is not', null).where('last_active_at', '<', new Date(clock.now().getTime() - 60_000)).execute();
  assert.match(sessionRows((await laptop.request(`${s.issuer}/account`)).body)[1]!, new RegExp(`^Safari on iOS .* Last active on ${dayText(weekAgo)}$`));
});

test('session-last-active-on-authorization: a session used to authorize an app is stamped with that time', async (t) => {
  const clock = fixedClock();
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const b = new AgentBrowser(FIREFOX_LINUX);
  assert.equal((await signInOnPage(b, await b.get(`${s.issuer}/account`), user)).url, `${s.issuer}/account`);
  clock.advance(6 * 60);
  const usedAt = clock.now().toISOString();
  // an authorization request over the live session (single sign-on), stopped before the app's callback
  const end = await b.get(`${s.issuer}/account/sign-in`, (url) => url.startsWith(`${s.issuer}/account/callback`));
  assert.equal(end.status, 0, 'the browser reached the callback without a sign-in form');
  const stamp = () => sessionStamp(s, user.id);
  // the stamp is written beside the answer, not before it
  for (let i = 0; i < 40 && (await stamp()) !== usedAt; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await stamp(), usedAt);
});

test('session-last-active-not-written-by-refresh: a refresh token used minutes later leaves the session\'s stamp alone; an authorization moves it', async (t) => {
  const clock = fixedClock();
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const client = await makeClient(s.services);
  const config = await discover(s.issuer, client);
  const b = new AgentBrowser(FIREFOX_LINUX);
  const first = await authorizationRequest(config, client.redirectUri, { scope: 'openid offline_access', prompt: 'consent' });
  const { callbackUrl } = await signInOverHttp(b, first.url, client.redirectUri, user);
  assert.ok(callbackUrl, 'signed in');
  const tokens = await redeem(config, first, callbackUrl);
  assert.ok(tokens.refresh_token, 'a refresh token was issued');
  const stamp = () => sessionStamp(s, user.id);
  const before = await stamp();

  clock.advance(10 * 60);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token);
  await new Promise((r) => setTimeout(r, 300)); // time for a stamp, were one (wrongly) written beside the answer
  assert.equal(await stamp(), before, 'the token endpoint writes no activity');

  // the same browser signs in to the app again (single sign-on): that is the session being used
  const again = await authorizationRequest(config, client.redirectUri);
  assert.ok((await signInOverHttp(b, again.url, client.redirectUri)).callbackUrl, 'no form: the session signs in');
  const usedAt = clock.now().toISOString();
  for (let i = 0; i < 40 && (await stamp()) !== usedAt; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await stamp(), usedAt);
});

test('session-first-authorization-sends-no-stamp: the authorization that completes a sign-in writes no "last active" (the list shows the sign-in time)', async (t) => {
  const clock = fixedClock();
  const s = await startServer(t, { clock });
  const user = await makeUser(s.services);
  const b = new AgentBrowser(FIREFOX_LINUX);
  assert.equal((await signInOnPage(b, await b.get(`${s.issuer}/account`), user)).url, `${s.issuer}/account`);
  await new Promise((r) => setTimeout(r, 300)); // time for a stamp, were one written beside the answer
  assert.equal(await sessionStamp(s, user.id), null, 'no stamp within the first period');
  assert.match(sessionRows((await b.request(`${s.issuer}/account`)).body)[0]!, /Active now$/, 'the list still says when it was last used');
});
