import type { Server } from 'node:http';
export interface TokenClaims { sub?: string; acr?: string; amr?: string[]; scope?: string; client_id?: string }
export declare const ACR_MFA: 'urn:gatehouse:acr:mfa';
export declare function hasSecondFactor(claims: TokenClaims): boolean;
export declare function createResourceServer(opts: { verify: (token: string) => Promise<TokenClaims>; realm?: string }): Server;
