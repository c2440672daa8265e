/**
 * Quick start with a real provider: a tiny web app that connects a user's account once, and a job
 * that acts for that user later. Run with your provider's settings in the environment:
 *   ISSUER=https://idp.example.com CLIENT_ID=... CLIENT_SECRET=... node examples/quick-start.ts
 */
import { createServer } from 'node:http';
import { createTokenManager, ReauthRequiredError } from 'offline-tokens';

const tokens = await createTokenManager({
  issuer: process.env.ISSUER ?? 'https://idp.example.com',
  clientId: process.env.CLIENT_ID ?? 'my-app',
  clientSecret: process.env.CLIENT_SECRET,
  redirectUri: 'http://localhost:3000/callback',
  scope: 'openid offline_access email',
  sqlitePath: './tokens.sqlite', // the default store; pass `store: new Keyv(...)` for Redis/PostgreSQL
});

// 1. The user clicks "Connect": send them to the consent screen.
// 2. The provider redirects back to /callback: the grant is stored.
createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost:3000');
  if (url.pathname === '/connect') {
    const { url: consentUrl } = await tokens.startAuthorization({ key: 'user-42' });
    res.writeHead(302, { location: consentUrl.href }).end();
  } else if (url.pathname === '/callback') {
    const grant = await tokens.completeAuthorization(url);
    res.end(`Connected ${grant.subject}. You can close this tab.`);
  } else {
    res.writeHead(404).end();
  }
}).listen(3000);

// 3. Any time later, in any process sharing the store: act for the user.
export async function nightlyJob(): Promise<void> {
  try {
    const accessToken = await tokens.getAccessToken('user-42');
    await fetch('https://api.example.com/deploy', { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } });
  } catch (error) {
    if (error instanceof ReauthRequiredError) console.log(`Ask user ${error.key} to connect again (${error.reason})`);
    else throw error;
  }
}
