#!/usr/bin/env node
// Runs the example API. Introspection (default):
//   GATEHOUSE_ISSUER=http://localhost:3000 RS_CLIENT_ID=… RS_CLIENT_SECRET=… node examples/resource-server/main.mjs
// JWT access tokens:
//   RS_MODE=jwt GATEHOUSE_ISSUER=http://localhost:3000 RS_AUDIENCE=http://localhost:4000/ node examples/resource-server/main.mjs
import { createResourceServer } from './resource-server.mjs';
import { introspectionVerifier } from './verify-introspection.mjs';
import { jwtVerifier } from './verify-jwt.mjs';

const env = process.env;
const issuer = env.GATEHOUSE_ISSUER ?? 'http://localhost:3000';
const port = Number(env.PORT ?? 4000);
const verify =
  env.RS_MODE === 'jwt'
    ? await jwtVerifier({ issuer, audience: env.RS_AUDIENCE ?? `http://localhost:${port}/` })
    : await introspectionVerifier({ issuer, clientId: env.RS_CLIENT_ID, clientSecret: env.RS_CLIENT_SECRET });
createResourceServer({ verify }).listen(port, () => console.log(`API on http://localhost:${port} (${env.RS_MODE === 'jwt' ? 'JWT' : 'introspection'})`));
