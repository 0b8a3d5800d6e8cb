// An OpenID provider for the console's OIDC test (the `oidc-provider` package, certified OpenID implementation),
// in its own process because it is an ES module. Usage: node oidc-provider-server.mjs <port> <redirect_uri> <audience>
// Anyone may sign in with any login (its development interactions); the access token is a JWT for AGF's audience
// with the reviewer role.
import Provider from 'oidc-provider';

const [port, redirectUri, audience] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'urn:agf';

const provider = new Provider(issuer, {
  clients: [{ client_id: 'agf-console', token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'agf', audience, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  extraTokenClaims: () => ({ agf_roles: ['reviewer'], agf_projects: [] }),
  // Every consent is given at once: the test is about the code flow, not the consent screen.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile');
    grant.addResourceScope(resource, 'agf');
    await grant.save();
    return grant;
  },
});
provider.listen(Number(port), '127.0.0.1', () => process.stdout.write(`ready ${issuer}\n`));
