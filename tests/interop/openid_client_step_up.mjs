// panva's openid-client v6 asking for a trust level (docs/oidc.md › Trust levels): prompt=none
// without a session (login_required), a bronze person asked acr_values=prata is taken to
// "Para continuar, confirme sua identidade", prompt=none meanwhile (interaction_required), then
// — once the level was raised — back to the authorization request, whose ID token carries
// acr prata; an unknown acr value is ignored. Every error and every ID token is read by
// openid-client itself (state, iss of RFC 9207, signature, nonce).
//
// Driven by tests/interop/test_openid_client.py: when the step-up page is reached the script
// prints a line "STEP_UP <path>" and waits for a line on stdin (the test raises the level in the
// meantime), then prints one JSON line of results.
import * as client from 'openid-client'

const env = process.env
const issuer = new URL(env.ISSUER)
const redirectUri = env.REDIRECT_URI
const PRATA = 'urn:guarita:loa:prata'

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
async function waitForLine () {
  for await (const chunk of process.stdin) return String(chunk)
}

// Follows redirects, fills the sign-in form, stops at the client's redirect URI or (answering
// its URL) at the step-up page.
async function drive (start) {
  let response = await browse(start)
  let url = new URL(start)
  for (let i = 0; i < 15; i++) {
    if ([301, 302, 303, 307].includes(response.status)) {
      const target = new URL(response.headers.get('location'), url)
      if (target.href.startsWith(redirectUri)) return { callback: target }
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
    if (url.pathname === '/confirmar-identidade') {
      return { stepUp: url, heading: (html.match(/<h1>([^<]*)<\/h1>/) || [])[1], status: response.status }
    }
    throw new Error(`parou em ${url}: ${response.status}`)
  }
  throw new Error('redirecionamentos demais')
}

const config = await client.discovery(issuer, env.CLIENT_ID, { redirect_uris: [redirectUri] },
  client.ClientSecretBasic(env.CLIENT_SECRET),
  { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] })

// One authorization request of openid-client, with what its answer must be checked against.
async function request (extra) {
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid profile trust', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    ...extra
  })
  return { url, checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } }
}
async function grant (callback, checks) {
  try {
    const tokens = await client.authorizationCodeGrant(config, callback, checks)
    return { claims: tokens.claims() }
  } catch (error) {
    return { error: error.error || error.code || String(error) }
  }
}

const results = {}
// 1. No session, prompt=none: login_required (OpenID Connect Core §3.1.2.6).
let r = await request({ acr_values: PRATA, prompt: 'none' })
let driven = await drive(r.url)
results.noSession = await grant(driven.callback, r.checks)

// 2. Sign in asking prata: the step-up page.
const wanted = await request({ acr_values: PRATA })
driven = await drive(wanted.url)
results.stepUp = { path: driven.stepUp?.pathname, heading: driven.heading, status: driven.status }
const stepUpUrl = driven.stepUp

// 3. Meanwhile, prompt=none with the session but below the level: interaction_required.
r = await request({ acr_values: PRATA, prompt: 'none' })
results.belowLevel = await grant((await drive(r.url)).callback, r.checks)

// 4. The level is raised elsewhere (the test does it), then the page sends the browser back.
console.log(`STEP_UP ${stepUpUrl.pathname}${stepUpUrl.search}`)
await waitForLine()
stepUpUrl.searchParams.set('depois', '1')
driven = await drive(stepUpUrl.href)
results.afterStepUp = await grant(driven.callback, wanted.checks)

// 5. Values Guarita does not know are ignored: a code at once, acr the level met.
r = await request({ acr_values: 'urn:outro:loa:alto' })
results.unknown = await grant((await drive(r.url)).callback, r.checks)

console.log(JSON.stringify(results))
process.exit(0)
