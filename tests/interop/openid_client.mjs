// panva's openid-client v6 against a running Guarita: discovery, authorization code with PKCE,
// ID token validation (openid-client's non-repudiation checks: signature against the JWKS, plus
// iss/aud/nonce/exp), userinfo, refresh, revocation and RP-initiated logout.
//
// Driven by tests/interop/test_openid_client.py, which passes the server and client through the
// environment and reads one JSON line of results from stdout. Loopback only: openid-client
// refuses plain http unless told with allowInsecureRequests, which is what a loopback test needs.
import * as client from 'openid-client'
import { createHmac } from 'node:crypto'

const env = process.env
const issuer = new URL(env.ISSUER)
const redirectUri = env.REDIRECT_URI
const loggedOut = env.POST_LOGOUT_REDIRECT_URI

// A browser's cookie jar, enough for one host.
const jar = new Map()
function remember (response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';')
    const at = pair.indexOf('=')
    const name = pair.slice(0, at).trim()
    const value = pair.slice(at + 1).trim()
    const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=thu, 01 jan 1970/i.test(a))
    if (expired || value === '' || value === '""') jar.delete(name); else jar.set(name, value)
  }
}
async function browse (url, init = {}) {
  const headers = { ...(init.headers || {}), cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') }
  const response = await fetch(url, { ...init, headers, redirect: 'manual' })
  remember(response)
  return response
}

// RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, for the second step when
// TOTP_SECRET is set: the code of the next step, since the enrolment spent the current one.
function totp (secret, at = Date.now() + 30000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const ch of secret.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0')
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)))
  const mac = createHmac('sha1', key).update(counter).digest()
  const offset = mac[mac.length - 1] & 0xf
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0')
}

// Follows redirects by hand and fills Guarita's sign-in form; stops when leaving for `leaveWhen`.
async function signIn (start, leaveWhen) {
  let response = await browse(start)
  let url = new URL(start)
  for (let i = 0; i < 12; i++) {
    if ([301, 302, 303, 307].includes(response.status)) {
      const target = new URL(response.headers.get('location'), url)
      if (target.href.startsWith(leaveWhen)) return target
      url = target
      response = await browse(target)
      continue
    }
    const html = await response.text()
    if (url.pathname === '/entrar' && html.includes('name="password"')) {
      const csrf = html.match(/name="csrf_token" value="([^"]+)"/)[1]
      const next = html.match(/name="next" value="([^"]*)"/)[1].replaceAll('&amp;', '&')
      const body = new URLSearchParams({ identifier: env.IDENTIFIER, password: env.PASSWORD, csrf_token: csrf, next })
      url = new URL('/entrar', issuer)
      response = await browse(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      continue
    }
    if (url.pathname === '/entrar/confirmar' && env.TOTP_SECRET && html.includes('name="code"')) {
      const csrf = html.match(/name="csrf_token" value="([^"]+)"/)[1]
      const body = new URLSearchParams({ method: 'totp', code: totp(env.TOTP_SECRET), csrf_token: csrf })
      response = await browse(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      continue
    }
    throw new Error(`parou em ${url}: ${response.status}`)
  }
  throw new Error('redirecionamentos demais')
}

// The client is registered with client_secret_basic; the form (ClientSecretPost) works too, as
// with Keycloak, for libraries that choose it without asking (docs/oidc.md).
const authentication = env.CLIENT_AUTH === 'post'
  ? client.ClientSecretPost(env.CLIENT_SECRET) : client.ClientSecretBasic(env.CLIENT_SECRET)
const config = await client.discovery(issuer, env.CLIENT_ID, { redirect_uris: [redirectUri] },
  authentication,
  { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] })

const verifier = client.randomPKCECodeVerifier()
const challenge = await client.calculatePKCECodeChallenge(verifier)
const state = client.randomState()
const nonce = client.randomNonce()
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri, scope: 'openid profile email beneficiary trust', code_challenge: challenge,
  code_challenge_method: 'S256', state, nonce, ...(env.ACR_VALUES ? { acr_values: env.ACR_VALUES } : {})
})

const callback = await signIn(authorizationUrl, redirectUri)
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true
})
const claims = tokens.claims()
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
const afterRefresh = await client.fetchUserInfo(config, refreshed.access_token, claims.sub)
await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: 'refresh_token' })
const introspected = await client.tokenIntrospection(config, refreshed.access_token)
let refreshAfterRevocation = 'aceito'
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token)
} catch (error) {
  refreshAfterRevocation = error.error || error.code || String(error)
}
const endSession = client.buildEndSessionUrl(config, {
  // The ID token of the refresh (OpenID Connect Core §12.2), not the first one.
  id_token_hint: refreshed.id_token, post_logout_redirect_uri: loggedOut, state: 'ate-logo'
})
const logout = await browse(endSession)
const account = await browse(new URL('/conta', issuer))

console.log(JSON.stringify({
  issuer: config.serverMetadata().issuer,
  claims,
  userinfo,
  refreshed: { different: refreshed.refresh_token !== tokens.refresh_token, sub: afterRefresh.sub },
  refreshedIdToken: { sub: refreshed.claims()?.sub, authTime: refreshed.claims()?.auth_time === claims.auth_time },
  introspectedAfterRevocation: introspected.active,
  refreshAfterRevocation,
  logout: { status: logout.status, location: logout.headers.get('location') },
  accountAfterLogout: { status: account.status, location: account.headers.get('location') }
}))
