#!/usr/bin/env node
// An example command-line sign-in for a first-party tool, as `aptible login` does it: email, password (hidden) and
// the 6-digit code in the terminal; tokens kept in a 0600 file and refreshed until the refresh token's life ends.
// It speaks Gatehouse's authorization challenge endpoint ("OAuth 2.0 for First-Party Applications"), then the normal
// token endpoint with PKCE, through openid-client.
//
//   GATEHOUSE_ISSUER=https://sso.example.com GATEHOUSE_CLIENT_ID=gh_... node login.mjs login
//   node login.mjs token      # prints a valid access token (refreshing it when needed)
//   node login.mjs logout     # forgets the tokens
//
// Register the client once: gatehouse client create --name "My CLI" --public --first-party \
//   --redirect-uri http://127.0.0.1/cli-login --grant-type refresh_token
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import * as oidc from 'openid-client';

const issuer = process.env.GATEHOUSE_ISSUER ?? 'http://localhost:3000';
const clientId = process.env.GATEHOUSE_CLIENT_ID;
const tokenFile = process.env.GATEHOUSE_TOKEN_FILE ?? path.join(os.homedir(), '.config', 'gatehouse', 'tokens.json');
const scope = process.env.GATEHOUSE_SCOPE ?? 'openid email offline_access';

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** lines from stdin: typed at a terminal (the password hidden), or piped by a script */
function prompter() {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  const queued = [];
  const waiting = [];
  if (!process.stdin.isTTY) rl.on('line', (l) => (waiting.length ? waiting.shift()(l) : queued.push(l)));
  return {
    ask(question, { hidden = false } = {}) {
      if (!process.stdin.isTTY) {
        process.stderr.write(question);
        return new Promise((resolve) => (queued.length ? resolve(queued.shift()) : waiting.push(resolve))).then((a) => (process.stderr.write('\n'), a));
      }
      return new Promise((resolve) => {
        const write = rl._writeToOutput;
        if (hidden) rl._writeToOutput = (s) => (s.startsWith(question) ? write.call(rl, s) : undefined);
        rl.question(question, (answer) => {
          rl._writeToOutput = write;
          if (hidden) process.stderr.write('\n');
          resolve(answer);
        });
      });
    },
    close: () => rl.close(),
  };
}

async function configuration() {
  if (!clientId) fail('Set GATEHOUSE_CLIENT_ID to the client id of your first-party CLI client.');
  const url = new URL(issuer);
  return oidc.discovery(url, clientId, undefined, oidc.None(), url.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined);
}

async function challenge(config, params) {
  const endpoint = config.serverMetadata().authorization_challenge_endpoint;
  if (!endpoint) fail(`${issuer} does not offer a terminal sign-in (no authorization_challenge_endpoint).`);
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: clientId, ...params }) });
  return { status: res.status, body: await res.json() };
}

function save(tokens) {
  mkdirSync(path.dirname(tokenFile), { recursive: true, mode: 0o700 });
  writeFileSync(tokenFile, JSON.stringify(tokens, null, 2), { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
}

function stored(response) {
  return {
    access_token: response.access_token,
    refresh_token: response.refresh_token,
    id_token: response.id_token,
    expires_at: Math.floor(Date.now() / 1000) + (response.expires_in ?? 0),
  };
}

async function login() {
  const config = await configuration();
  const ask = prompter();
  const username = await ask.ask('Email: ');
  const password = await ask.ask('Password: ', { hidden: true });
  const verifier = oidc.randomPKCECodeVerifier();
  let r = await challenge(config, { username, password, scope, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
  for (let tries = 0; r.body.error === 'insufficient_authorization' && tries < 3; tries++) {
    if (tries) process.stderr.write(`${r.body.error_description}\n`);
    const code = await ask.ask('Two-factor code: ');
    r = await challenge(config, { auth_session: r.body.auth_session, otp: code });
  }
  ask.close();
  if (r.status !== 200) fail(r.body.error_description ?? r.body.error);
  if (r.body.gatehouse_notice) process.stderr.write(`${r.body.gatehouse_notice}\n`);
  const tokens = await oidc.genericGrantRequest(config, 'authorization_code', { code: r.body.authorization_code, code_verifier: verifier });
  save(stored(tokens));
  process.stderr.write(`Signed in as ${tokens.claims()?.email ?? tokens.claims()?.sub}. Tokens saved in ${tokenFile}.\n`);
}

async function token() {
  let saved;
  try {
    saved = JSON.parse(readFileSync(tokenFile, 'utf8'));
  } catch {
    fail('Not signed in: run `login` first.');
  }
  if (saved.expires_at - 30 > Date.now() / 1000) return process.stdout.write(`${saved.access_token}\n`);
  if (!saved.refresh_token) fail('The access token expired: run `login` again.');
  try {
    const refreshed = await oidc.refreshTokenGrant(await configuration(), saved.refresh_token);
    save({ ...stored(refreshed), id_token: refreshed.id_token ?? saved.id_token });
    process.stdout.write(`${refreshed.access_token}\n`);
  } catch {
    fail('The sign-in has ended (its lifetime is over, or your password or two-factor setup changed): run `login` again.');
  }
}

const command = process.argv[2];
if (command === 'login') await login();
else if (command === 'token') await token();
else if (command === 'logout') rmSync(tokenFile, { force: true });
else fail('Usage: login.mjs login | token | logout');
