// node-oidc-provider as a benchmark peer: one process (its adapter is in memory, so every request
// must reach the process that pre-minted the codes and tokens), pre-minting what the load generator
// spends, writing the fixture (BENCH_FIXTURE) and then listening on BENCH_BASE_URL's port.
//
// Usage: node server.mjs POOL   (environment as bench/peers/bench_common.py documents)
import crypto from 'node:crypto';
import { writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const BASE_URL = process.env.BENCH_BASE_URL;
const POOL = Number(process.argv[2]);
const LIVE_TOKENS = Number(process.env.BENCH_LIVE_TOKENS ?? '10000');
const CHAINS = 16;
const USERS = 100;
const REDIRECT_URI = 'http://127.0.0.1:9/cb';
const SCOPE = 'openid profile email';
const CODE_VERIFIER = `bench-code-verifier-${'x'.repeat(40)}`;
const CODE_CHALLENGE = crypto.createHash('sha256').update(CODE_VERIFIER).digest('base64url');

// The stock memory adapter is an LRU of 1,000 entries: the pre-minted items would be evicted.
// This one is a plain Map with the same interface (nothing expires during a run).
const store = new Map();
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken']);
class MapAdapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  async upsert(id, payload) {
    store.set(this.key(id), payload);
    if (GRANTABLE.has(this.name) && payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      if (!store.has(grantKey)) store.set(grantKey, []);
      store.get(grantKey).push(this.key(id));
    }
    if (payload.uid) store.set(`sessionUid:${payload.uid}`, id);
  }

  async find(id) { return store.get(this.key(id)); }

  async findByUid(uid) { return this.find(store.get(`sessionUid:${uid}`)); }

  async findByUserCode() { return undefined; }

  async consume(id) {
    const payload = store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of store.get(grantKey) ?? []) store.delete(key);
    store.delete(grantKey);
  }
}

const users = Array.from({ length: USERS }, (_, i) => `bench${i}`);
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const secret = crypto.randomBytes(32).toString('base64url');
const ccSecret = crypto.randomBytes(32).toString('base64url');

const provider = new Provider(BASE_URL, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: 'bench-client',
      client_secret: secret,
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'bench-cc',
      client_secret: ccSecret,
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'RS256' }] },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, sub) {
    const i = Number(sub.slice(5));
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          name: `Bench Mark${i}`,
          given_name: 'Bench',
          family_name: `Mark${i}`,
          preferred_username: sub,
          email: `bench${i}@example.org`,
          email_verified: false,
        };
      },
    };
  },
  rotateRefreshToken: true, // as ours, DOT and django-oidc-provider do
  ttl: {
    AuthorizationCode: 3600, // pre-minted codes must outlive the run
    AccessToken: 7200,
    ClientCredentials: 3600,
    IdToken: 3600,
    RefreshToken: 30 * 86400,
    Grant: 30 * 86400,
  },
  cookies: { keys: ['bench-only-not-secret'] },
});

const client = await provider.Client.find('bench-client');
const now = () => Math.floor(Date.now() / 1000);

async function grantFor(accountId, scope) {
  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  grant.addOIDCScope(scope);
  return grant.save();
}

async function mint(Model, i, scope, extra = {}) {
  const accountId = users[i % USERS];
  const grantId = await grantFor(accountId, scope);
  return new Model({ accountId, client, grantId, scope, authTime: now(), gty: 'authorization_code', ...extra }).save();
}

const codes = [];
for (let i = 0; i < POOL; i += 1) {
  codes.push(await mint(provider.AuthorizationCode, i, SCOPE, {
    redirectUri: REDIRECT_URI, codeChallenge: CODE_CHALLENGE, codeChallengeMethod: 'S256', nonce: 'n', gty: undefined,
  }));
}
const refresh = [];
for (let i = 0; i < POOL + CHAINS; i += 1) {
  refresh.push(await mint(provider.RefreshToken, i, `${SCOPE} offline_access`));
}
const accessTokens = [];
for (let i = 0; i < LIVE_TOKENS + 1; i += 1) {
  accessTokens.push(await mint(provider.AccessToken, i, SCOPE));
}

const server = provider.listen(Number(new URL(BASE_URL).port), '127.0.0.1', () => {
  fetch(`${BASE_URL}/.well-known/openid-configuration`).then((r) => r.text()).then((discovery) => {
    writeFileSync(process.env.BENCH_FIXTURE, JSON.stringify({
      paths: {
        discovery: '/.well-known/openid-configuration',
        jwks: '/jwks',
        authorize: '/auth',
        token: '/token',
        userinfo: '/me',
        introspection: '/token/introspection',
      },
      variants: {
        default: {
          client_id: client.clientId,
          client_secret: secret,
          redirect_uri: REDIRECT_URI,
          codes,
          refresh_tokens: refresh.slice(CHAINS),
          chain_tokens: refresh.slice(0, CHAINS),
          access_token: accessTokens[LIVE_TOKENS],
          access_tokens: accessTokens.slice(0, LIVE_TOKENS),
          cc: { client_id: 'bench-cc', client_secret: ccSecret },
          unavailable: {
            flow: 'not measured (needs an interactive login session in its own cookie format)',
            authorize: 'not measured (needs an interactive login session in its own cookie format)',
          },
        },
      },
      sessions: [''],
      scope: SCOPE,
      code_verifier: CODE_VERIFIER,
      code_challenge: CODE_CHALLENGE,
      discovery_bytes: Buffer.byteLength(discovery),
    }));
  });
});
server.keepAliveTimeout = 5000;
