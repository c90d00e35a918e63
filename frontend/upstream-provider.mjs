// node-oidc-provider 9 as an outside identity provider Guarita trusts: "Banco Exemplo" (a `cpf`
// claim) or a gov.br stand-in (GOVBR=1: `sub` is the CPF, `reliability_info`, gov.br's scopes).
// Started by the suite (tests/support/upstream.py) and by `guarita demo --bank`; listens on
// 127.0.0.1 only and runs offline from frontend/node_modules (it lives beside them because ES
// modules resolve packages from their own folder).
//
// Environment: PORT, NAME, CLIENTS (JSON list of client metadata), ACCOUNTS (JSON object
// login -> {password, sub, claims}), CPF_IN_ID_TOKEN=1 (claims in the ID token; otherwise only
// at userinfo), PAR=1 (pushed authorization requests required), CONTROL=1 (the /__test/
// endpoints that let a test add accounts and make the provider misbehave).
import { createServer } from 'node:http'
import * as jose from 'jose'
import Provider from 'oidc-provider'

const port = Number(process.env.PORT)
const issuer = process.env.ISSUER || `http://127.0.0.1:${port}`
const name = process.env.NAME || 'Banco Exemplo'
const govbr = process.env.GOVBR === '1'
const control = process.env.CONTROL === '1'
const accounts = JSON.parse(process.env.ACCOUNTS || '{}')
const clients = JSON.parse(process.env.CLIENTS || '[]')
let mode = 'normal'

const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true })
const kid = 'banco-1'
const signingJwk = { ...(await jose.exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid }
// A key the provider never published: what a forger would sign with.
const { privateKey: forgerKey } = await jose.generateKeyPair('RS256', { extractable: true })

function accountBySub (sub) {
  return Object.values(accounts).find((a) => a.sub === sub)
}

const scopes = govbr
  ? ['openid', 'email', 'profile', 'govbr_confiabilidades', 'govbr_confiabilidades_idtoken']
  : ['openid', 'cpf', 'profile', 'email']
const claims = govbr
  ? {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'social_name', 'picture'],
      govbr_confiabilidades_idtoken: ['reliability_info']
    }
  : { openid: ['sub'], cpf: ['cpf'], profile: ['name'], email: ['email'] }

const provider = new Provider(issuer, {
  clients,
  scopes,
  claims,
  conformIdTokenClaims: process.env.CPF_IN_ID_TOKEN !== '1',
  cookies: { keys: [jose.base64url.encode(crypto.getRandomValues(new Uint8Array(32)))] },
  jwks: { keys: [signingJwk] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    pushedAuthorizationRequests: {
      enabled: true, requirePushedAuthorizationRequests: process.env.PAR === '1'
    },
    userinfo: { enabled: true }
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount (ctx, sub) {
    const account = accountBySub(sub)
    if (!account) return undefined
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) }
  },
  // A bank's own first-party consent screen is out of scope: the grant is made at once.
  async loadExistingGrant (ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId ||
      ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
    if (grantId) return ctx.oidc.provider.Grant.find(grantId)
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId
    })
    grant.addOIDCScope(scopes.join(' '))
    grant.addOIDCClaims(Object.values(claims).flat())
    await grant.save()
    return grant
  },
  ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 300, IdToken: 300 }
})
provider.proxy = false

function sleep (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

async function resign (idToken, change, key = privateKey, alg = 'RS256') {
  const payload = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString())
  change(payload)
  if (alg === 'none') {
    const head = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')
    return `${head}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`
  }
  return new jose.SignJWT(payload).setProtectedHeader({ alg, kid }).sign(key)
}

// The misbehaviours a test can ask for, applied to the real provider's real answers.
provider.use(async (ctx, next) => {
  if (mode === 'hang' && ctx.path === '/token') await sleep(120_000)
  await next()
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    const t = ctx.body.id_token
    const now = Math.floor(Date.now() / 1000)
    if (mode === 'bad_signature') ctx.body.id_token = await resign(t, () => {}, forgerKey)
    if (mode === 'wrong_iss') ctx.body.id_token = await resign(t, (p) => { p.iss = 'https://outro.exemplo' })
    if (mode === 'expired') ctx.body.id_token = await resign(t, (p) => { p.exp = now - 3600; p.iat = now - 7200 })
    if (mode === 'alg_none') ctx.body.id_token = await resign(t, () => {}, null, 'none')
    if (mode === 'hs256') {
      const secret = new TextEncoder().encode(clients[0]?.client_secret || 'x'.repeat(32))
      ctx.body.id_token = await resign(t, () => {}, secret, 'HS256')
    }
    if (mode === 'other_cpf') ctx.body.id_token = await resign(t, (p) => { p.cpf = '11144477735' })
  }
  const location = ctx.response.get('Location')
  if (mode === 'wrong_iss_param' && location && location.includes('iss=')) {
    const url = new URL(location)
    url.searchParams.set('iss', 'https://outro.exemplo')
    ctx.response.set('Location', url.href)
  }
})

const callback = provider.callback()

function page (res, status, title, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(`<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;font-size:1.2rem;margin:.4rem 0}
input,button{padding:.7rem;box-sizing:border-box}button{background:#c00;color:#fff;border:0}
button.cancel{background:#eee;color:#222}</style></head><body>${body}</body></html>`)
}

function escape (text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

async function readBody (req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return Buffer.concat(chunks).toString()
}

function loginPage (res, uid, message = '') {
  page(res, message ? 401 : 200, `${name} — Entrar`, `<h1>${escape(name)}</h1>
<p>Entre com os dados da sua conta no banco para confirmar quem você é.</p>
${message ? `<p role="alert"><strong>${escape(message)}</strong></p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="login">${govbr ? 'CPF' : 'CPF ou usuário'}</label><input id="login" name="login" autocomplete="username">
<label for="password">Senha</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Entrar</button></form>
<form method="post" action="/interaction/${uid}/abort"><button class="cancel" type="submit">Cancelar</button></form>`)
}

async function interaction (req, res, path) {
  const [, , uid, action] = path.split('/')
  const details = await provider.interactionDetails(req, res)
  if (details.uid !== uid) throw new Error('interaction mismatch')
  if (req.method === 'GET') return loginPage(res, uid)
  const form = new URLSearchParams(await readBody(req))
  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'A pessoa cancelou.'
    }, { mergeWithLastSubmission: false })
  }
  const login = (form.get('login') || '').replace(/\D/g, '') || form.get('login')
  const account = accounts[form.get('login')] || accounts[login]
  if (!account || account.password !== form.get('password')) {
    return loginPage(res, uid, 'Usuário ou senha incorretos.')
  }
  const result = { login: { accountId: account.sub, amr: govbr ? ['passwd'] : ['pwd'] } }
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false })
}

async function testControl (req, res, path) {
  const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {}
  if (path === '/__test/mode') mode = body.mode || 'normal'
  if (path === '/__test/accounts') accounts[body.login] = body
  res.writeHead(200, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify({ mode, accounts: Object.keys(accounts).length }))
}

createServer(async (req, res) => {
  const path = new URL(req.url, issuer).pathname
  try {
    if (path.startsWith('/interaction/')) return await interaction(req, res, path)
    if (control && path.startsWith('/__test/')) return await testControl(req, res, path)
    if (mode === 'hang_all' && !path.startsWith('/__test/')) await sleep(120_000)
    return callback(req, res)
  } catch (error) {
    page(res, 400, 'Erro', `<h1>Erro</h1><p>${escape(error.message)}</p>`)
  }
}).listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`))
