import type { TokenClaims } from './resource-server.mjs';
export declare function jwtVerifier(opts: { issuer: string; audience: string }): Promise<(token: string) => Promise<TokenClaims>>;
