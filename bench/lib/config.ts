// Configuration shared by the bench orchestrator and bench/serve-gatehouse.ts: the server's own config loader,
// fed an explicit env (never the process's), with the production argon2 parameters.
import { loadConfig, type Config } from '../../src/config/load-config.ts';

export const BENCH_COOKIE_KEY = 'bench-cookie-key-0123456789abcdefghijklmnopq';
export const BENCH_ENCRYPTION_KEYS = `b1:${Buffer.alloc(32, 9).toString('base64')}`;

/** production argon2id parameters (OWASP minimum), as in the README and load-config defaults */
export const PROD_ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** the environment the bench's server reads (passed to the server child as BENCH_CONFIG_ENV) */
export function benchEnv(databaseUrl: string, port: number): Record<string, string> {
  return {
    // 'test' only so that an http issuer and explicit dev keys are accepted; nothing else depends on it
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    GATEHOUSE_ISSUER: `http://127.0.0.1:${port}`,
    GATEHOUSE_COOKIE_KEYS: BENCH_COOKIE_KEY,
    GATEHOUSE_ENCRYPTION_KEYS: BENCH_ENCRYPTION_KEYS,
    GATEHOUSE_DATA_DIR: '/tmp/gatehouse-bench-unused',
    UV_THREADPOOL_SIZE: '8',
    LOG_LEVEL: 'silent',
    GATEHOUSE_ARGON2_MEMORY_KIB: String(PROD_ARGON2.memoryCost),
    GATEHOUSE_ARGON2_TIME_COST: String(PROD_ARGON2.timeCost),
    // named statements, as `npm start` has them with its embedded database (DATABASE_URL alone would turn them off)
    GATEHOUSE_DB_PREPARED_STATEMENTS: 'on',
  };
}

export function benchConfig(databaseUrl: string, port: number): Readonly<Config> {
  return loadConfig(benchEnv(databaseUrl, port));
}
