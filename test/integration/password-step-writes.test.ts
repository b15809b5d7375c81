// The password step sends its writes beside each other (the audit row and the guess counters beside the sign-in's
// result), but it answers only once all of them are in: what the answer says has happened, has.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { makeUser } from '../helpers/factories.ts';
import { HttpBrowser, formOn } from '../helpers/http-browser.ts';
import { startServer } from '../helpers/server.ts';
import { enrollTotp } from '../helpers/totp.ts';

test('password-step-answers-after-its-writes: when the answer arrives, both audit rows are written and the guess counter is settled', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  const db = s.services.db;
  const post = async (password: string) => {
    const b = new HttpBrowser();
    const f = formOn(await b.get(`${s.issuer}/account`), '/login');
    return b.request(f.action, { form: { ...f.fields, email: user.email, password } });
  };
  // the password check's audit row takes a while to commit (a trigger sleeps): an answer that did not wait for it
  // would arrive before it exists
  await sql`CREATE FUNCTION slow_login_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event = 'login.succeeded' THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$`.execute(db);
  await sql`CREATE TRIGGER slow_login_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION slow_login_audit()`.execute(db);
  const accountCounter = () => db.selectFrom('throttles').select('failures').where('key', 'like', `pwd:%${user.email}%`).executeTakeFirst();

  assert.equal((await post('not the password at all')).status, 401);
  assert.equal((await accountCounter())?.failures, 1, 'a wrong password counts');

  for (let i = 0; i < 3; i++) {
    const right = await post(user.password);
    assert.equal(right.status, 303);
    // read at once, before anything else: the answer came after the writes
    const [events, counter] = await Promise.all([
      db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).where('event', 'in', ['login.succeeded', 'login.completed']).execute(),
      accountCounter(),
    ]);
    assert.equal(events.filter((e) => e.event === 'login.succeeded').length, i + 1, 'the password check is audited');
    assert.equal(events.filter((e) => e.event === 'login.completed').length, i + 1, 'the completed sign-in is audited');
    assert.equal(counter, undefined, 'a right password clears the account counter');
  }
});

test('code-step-begins-with-its-password-writes: when the answer sends a user with an authenticator to the code, the step, the audit row and the settled counter are in', async (t) => {
  const s = await startServer(t);
  const user = await makeUser(s.services);
  await enrollTotp(s.services, user);
  const db = s.services.db;
  await sql`CREATE FUNCTION slow_login_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event = 'login.succeeded' THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$`.execute(db);
  await sql`CREATE TRIGGER slow_login_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION slow_login_audit()`.execute(db);
  const b = new HttpBrowser();
  const f = formOn(await b.get(`${s.issuer}/account`), '/login');
  assert.equal((await b.request(f.action, { form: { ...f.fields, email: user.email, password: 'not the password at all' } })).status, 401);
  const right = await b.request(f.action, { form: { ...f.fields, email: user.email, password: user.password } });
  assert.equal(right.status, 303);
  assert.match(right.headers.get('location') ?? '', /\/totp$/);
  const uid = /\/interaction\/([^/]+)\//.exec(f.action)![1]!;
  const [tx, events, counter] = await Promise.all([
    db.selectFrom('authn_transactions').select(['state', 'user_id']).where('uid', '=', uid).executeTakeFirst(),
    db.selectFrom('audit_events').select('event').where('target_user_id', '=', user.id).where('event', '=', 'login.succeeded').execute(),
    db.selectFrom('throttles').select('failures').where('key', 'like', `pwd:%${user.email}%`).executeTakeFirst(),
  ]);
  assert.deepEqual(tx, { state: 'second_factor', user_id: user.id }, 'the sign-in is at its code step');
  assert.equal(events.length, 1, 'the password check is audited');
  assert.equal(counter, undefined, 'a right password clears the account counter');
});
