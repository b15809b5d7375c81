import type { TokenClaims } from './resource-server.mjs';
export declare function introspectionVerifier(opts: { issuer: string; clientId: string; clientSecret: string }): Promise<(token: string) => Promise<TokenClaims>>;
