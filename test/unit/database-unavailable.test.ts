// Which errors mean "the database is out of reach" (503 + Retry-After) rather than a bug (500).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

test('pgbouncer-outage-answers-count-as-unavailable: PgBouncer with no server connection to give is an outage, not a bug', () => {
  for (const message of [
    'query_wait_timeout',
    'server conn crashed?',
    'pgbouncer cannot connect to server',
    'server login has been failing, try again later (server_login_retry)',
    'no more connections allowed (max_client_conn)',
  ]) {
    assert.equal(isDatabaseUnavailable(pgError('08P01', message)), true, message);
    assert.equal(isDatabaseUnavailable(new Error('wrapped', { cause: pgError('08P01', message) })), true, `wrapped: ${message}`);
  }
});

test('protocol-violations-stay-bugs: a 08P01 from PostgreSQL itself is not an outage', () => {
  assert.equal(isDatabaseUnavailable(pgError('08P01', 'insufficient data left in message')), false);
  assert.equal(isDatabaseUnavailable(pgError('23505', 'duplicate key value violates unique constraint')), false);
});

test('embedded-socket-gone-counts-as-unavailable: the embedded server stopped (its socket file gone) is an outage', () => {
  assert.equal(isDatabaseUnavailable(pgError('ENOENT', 'connect ENOENT /var/tmp/gatehouse-0123/pg/.s.PGSQL.54329')), true);
  assert.equal(isDatabaseUnavailable(pgError('ENOENT', "ENOENT: no such file or directory, open 'views/x.njk'")), false);
});
