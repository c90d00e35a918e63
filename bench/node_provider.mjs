// node-oidc-provider 9 with its in-memory adapter, for bench/oidc.py: the reference Guarita is
// compared with on discovery, JWKS and client_credentials. One RS256 and one ES256 key, one
// confidential client allowed client_credentials. PORT and CLIENT_SECRET come from the
// environment; listens on 127.0.0.1 only.
import * as jose from 'jose'
import Provider from 'oidc-provider'

async function jwk (alg) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true })
  return { ...(await jose.exportJWK(privateKey)), alg, use: 'sig', kid: alg.toLowerCase() }
}

const port = Number(process.env.PORT)
const issuer = `http://127.0.0.1:${port}`
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench-backend',
    client_secret: process.env.CLIENT_SECRET,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'beneficiarios'
  }],
  scopes: ['openid', 'beneficiarios'],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  jwks: { keys: [await jwk('RS256'), await jwk('ES256')] }
})
provider.proxy = false
provider.listen(port, '127.0.0.1')
