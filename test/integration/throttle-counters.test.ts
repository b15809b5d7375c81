// A password guess counts on two counters (per account, per IP) in one statement: each counter admits or refuses on
// its own exactly as one attempt() would, and a right password clears one and refunds the other in one statement.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createDb } from '../../src/db/database.ts';
import { createThrottleService, PER_ACCOUNT, PER_IP } from '../../src/domain/mfa/throttle.service.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { fixedClock } from '../helpers/totp.ts';

const db = createDb(await createTestDatabase({ after }), { max: 12 });
after(() => db.destroy());
const throttle = createThrottleService(db, fixedClock());
const failures = async (key: string) => (await db.selectFrom('throttles').select('failures').where('key', '=', key).executeTakeFirst())?.failures;

test('throttle-counters-in-one-statement-count-each-once: both counters advance by one per attempt', async () => {
  const counters = [{ key: 'pwd:a@example.com', policy: PER_ACCOUNT }, { key: 'pwd-ip:192.0.2.1', policy: PER_IP }];
  for (let i = 0; i < 3; i++) assert.deepEqual(await throttle.attemptEach(counters), [{ allowed: true }, { allowed: true }]);
  assert.equal(await failures('pwd:a@example.com'), 3);
  assert.equal(await failures('pwd-ip:192.0.2.1'), 3);
  await throttle.successAndRefund('pwd:a@example.com', { key: 'pwd-ip:192.0.2.1', policy: PER_IP });
  assert.equal(await failures('pwd:a@example.com'), undefined, 'the account counter is cleared');
  assert.equal(await failures('pwd-ip:192.0.2.1'), 2, 'the IP counter gives back one');
});

test('throttle-counters-in-one-statement-lock-independently: a locked account counter refuses while the IP counter admits', async () => {
  const counters = [{ key: 'pwd:b@example.com', policy: PER_ACCOUNT }, { key: 'pwd-ip:192.0.2.2', policy: PER_IP }];
  for (let i = 0; i < PER_ACCOUNT.free; i++) await throttle.attemptEach(counters);
  const [account, ip] = await throttle.attemptEach(counters);
  assert.equal(account!.allowed, false);
  assert.ok(!account!.allowed && account!.retryAfterSeconds >= 1);
  assert.deepEqual(ip, { allowed: true });
});

test('throttle-counters-in-one-statement-hold-the-cap-under-concurrency: 20 parallel guesses admit exactly the free ones (the last of them sets the lock)', async () => {
  const counters = [{ key: 'pwd:c@example.com', policy: PER_ACCOUNT }, { key: 'pwd-ip:192.0.2.3', policy: PER_IP }];
  const results = await Promise.all(Array.from({ length: 20 }, () => throttle.attemptEach(counters)));
  const admitted = results.filter(([a]) => a!.allowed).length;
  // as with attempt(): the attempt that reaches the cap is admitted and sets the lock; everything after is refused
  assert.equal(admitted, PER_ACCOUNT.free);
});

test('password-counters-never-deadlock: right and wrong passwords of one account from one IP at once all answer', async () => {
  // a right password clears the account counter and refunds the IP counter while other guesses count on both: the
  // statements must take the two rows in the same order, or PostgreSQL breaks the cycle by failing one (a 500)
  const account = 'pwd:d@example.com';
  const ip = { key: 'pwd-ip:192.0.2.4', policy: PER_IP };
  for (let round = 0; round < 20; round++) {
    await Promise.all(
      Array.from({ length: 12 }, (_x, i) =>
        i % 2 ? throttle.attemptEach([{ key: account, policy: PER_ACCOUNT }, ip]) : throttle.successAndRefund(account, ip),
      ),
    );
  }
});
