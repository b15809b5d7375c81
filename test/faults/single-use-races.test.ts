// Scenario 3: one-time secrets stay one-time across nodes. Fifty simultaneous redemptions of one authorization code,
// one refresh token, one recovery code and one TOTP step, spread round-robin over three nodes: exactly one succeeds,
// the others get a clean refusal (never a 5xx), and nothing is written twice.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formOn, type Page } from '../helpers/http-browser.ts';
import { atCallback, client, redeemCode, signIn, startSignIn, submit, token, tokensFor, userWithTotp, type Client } from './flows.ts';
import { reportRow } from './report.ts';
import { fileScope, rigOnFreshDatabase, type Rig } from './rig.ts';

const N = 50;
let rig: Rig;
const scope = fileScope(after);
before(async () => {
  rig = await rigOnFreshDatabase(scope, { nodes: 3 });
});

function summarise<R extends { status: number; node: string }>(name: string, results: R[], ok: (r: R) => boolean) {
  const wins = results.filter(ok).length;
  const fiveXx = results.filter((r) => r.status >= 500).length;
  const nodes = new Set(results.map((r) => r.node));
  assert.equal(fiveXx, 0, `${name}: no 5xx (${results.map((r) => r.status).join(',')})`);
  assert.equal(wins, 1, `${name}: exactly one success (${results.map((r) => r.status).join(',')})`);
  assert.equal(nodes.size, rig.nodes.length, `${name}: spread over every node (${[...nodes]})`);
  return { wins, fiveXx, nodes };
}

test('authorization-code-redeemed-once-across-nodes: 50 simultaneous redemptions, one token', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const { req, callbackUrl } = await signIn(rig, c, user);
  const results = await Promise.all(Array.from({ length: N }, () => redeemCode(rig, c, req, callbackUrl)));
  summarise('code', results, (r) => r.status === 200);
  assert.ok(results.filter((r) => r.status !== 200).every((r) => r.status === 400 && r.body.error === 'invalid_grant'));
  reportRow({ scenario: '3 one authorization code ×50', result: 'pass', requests: N, successes: 1, fiveXx: 0, note: 'the other 49: 400 invalid_grant' });
});

test('refresh-token-rotated-once-across-nodes: 50 simultaneous rotations, one new token', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const tokens = await tokensFor(rig, c, user);
  const results = await Promise.all(Array.from({ length: N }, () => token(rig, c, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! })));
  summarise('refresh', results, (r) => r.status === 200);
  assert.ok(results.filter((r) => r.status !== 200).every((r) => r.status === 400 && r.body.error === 'invalid_grant'));
  const live = await rig.db.selectFrom('oidc_payloads').select('id').where('model', '=', 'RefreshToken').where('consumed_at', 'is', null).where('account_id', '=', user.id).execute();
  assert.ok(live.length <= 1, `never two valid refresh tokens (${live.length})`);
  reportRow({ scenario: '3 one refresh token ×50', result: 'pass', requests: N, successes: 1, fiveXx: 0, note: `the other 49: 400 invalid_grant; live refresh tokens after: ${live.length} (the replays end the grant)` });
});

/** `count` sign-ins of `user` waiting at the second factor (five at a time) */
async function atSecondFactor(c: Client, user: { email: string; password: string }, count: number) {
  const out: { browser: Awaited<ReturnType<typeof startSignIn>>['browser']; page: Page }[] = [];
  for (let i = 0; i < count; i += 5) {
    out.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(5, count - i) }, async () => {
          const { browser, login } = await startSignIn(rig, c);
          const s = await submit(rig, browser, login, '/login', { email: user.email, password: user.password }, undefined, atCallback(c));
          assert.ok(s.page.url.endsWith('/totp'), `at the second factor: ${s.page.url} ${s.page.status}`);
          return { browser, page: s.page };
        }),
      )),
    );
  }
  return out;
}

/** all at once: each waiting sign-in posts `code` to its `/totp` or `/recovery-code` form */
async function race(waiting: Awaited<ReturnType<typeof atSecondFactor>>, path: '/totp' | '/recovery-code', code: string) {
  const forms = await Promise.all(
    waiting.map(async (w) => {
      const page = path === '/totp' ? w.page : await w.browser.get(w.page.url.replace(/\/totp$/, '/recovery-code'));
      return { browser: w.browser, form: formOn(page, path) };
    }),
  );
  return Promise.all(
    forms.map(async ({ browser, form }) => {
      const res = await browser.request(form.action, { form: { ...form.fields, code } });
      return { status: res.status, node: rig.servedBy(res), location: res.headers.get('location') ?? '', browser };
    }),
  );
}

test('totp-step-accepted-once-across-nodes: 50 sign-ins post the same code at once, one gets in', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const waiting = await atSecondFactor(c, user, N);
  const at = new Date();
  const step = Math.floor(at.getTime() / 30_000);
  const results = await race(waiting, '/totp', user.code(at));
  const ok = (r: { status: number; location: string }) => r.status === 303 && !r.location.endsWith('/totp');
  summarise('totp', results, ok);
  const winner = results.find(ok)!;
  const end = await winner.browser.get(new URL(winner.location, rig.url).toString(), atCallback(c));
  assert.ok(atCallback(c)(end.url), `the winner finishes its sign-in: ${end.url}`);
  const spent = await rig.db.selectFrom('totp_credentials').select('last_used_step').where('user_id', '=', user.id).executeTakeFirstOrThrow();
  assert.equal(Number(spent.last_used_step), step, 'the step is spent once, and it is this one');
  const statuses = [...new Set(results.filter((r) => !ok(r)).map((r) => r.status))];
  reportRow({ scenario: '3 one TOTP step ×50', result: 'pass', requests: N, successes: 1, fiveXx: 0, note: `the other 49: ${statuses.join('/')} (replay or throttled)` });
});

test('recovery-code-used-once-across-nodes: 50 sign-ins post the same recovery code at once, one gets in', async () => {
  const user = await userWithTotp(rig);
  const c = await client(rig);
  const waiting = await atSecondFactor(c, user, N);
  const results = await race(waiting, '/recovery-code', user.recoveryCodes[0]!);
  const ok = (r: { status: number }) => r.status === 303;
  summarise('recovery code', results, ok);
  const used = await rig.db.selectFrom('recovery_codes').select('id').where('user_id', '=', user.id).where('used_at', 'is not', null).execute();
  assert.equal(used.length, 1, 'one code marked used');
  const statuses = [...new Set(results.filter((r) => !ok(r)).map((r) => r.status))];
  reportRow({ scenario: '3 one recovery code ×50', result: 'pass', requests: N, successes: 1, fiveXx: 0, note: `the other 49: ${statuses.join('/')}` });
});
