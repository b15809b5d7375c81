import { loadConfig, type Config } from '../../src/config/load-config.ts';

export const TEST_COOKIE_KEY = 'test-cookie-key-0123456789abcdefghijklmnop';
export const TEST_ENCRYPTION_KEYS = `t1:${Buffer.alloc(32, 7).toString('base64')}`;

/** config as the server would load it, from an env object (never the process's own) */
export function testConfig(env: Record<string, string | undefined>): Readonly<Config> {
  return loadConfig({
    NODE_ENV: 'test',
    GATEHOUSE_COOKIE_KEYS: TEST_COOKIE_KEY,
    GATEHOUSE_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    UV_THREADPOOL_SIZE: '8',
    LOG_LEVEL: 'silent',
    // cheap hashes keep the suite fast; the production parameters have their own test
    GATEHOUSE_ARGON2_MEMORY_KIB: '1024',
    GATEHOUSE_ARGON2_TIME_COST: '1',
    GATEHOUSE_DATA_DIR: '/tmp/gatehouse-test-unused',
    // named statements, as `npm start` has them with its embedded database (a DATABASE_URL alone turns them off)
    GATEHOUSE_DB_PREPARED_STATEMENTS: 'on',
    ...env,
  });
}
