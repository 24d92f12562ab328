// A local OpenID Connect provider for the single sign-on browser test (never for real use).
// Any login name is accepted on its development sign-in page and becomes the identity:
// "name@example.com" has a verified e-mail, "unverified-name@example.com" an unverified one.
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "strata",
      client_secret: "strata-test-client-secret",
      redirect_uris: [process.env.REDIRECT_URI],
      post_logout_redirect_uris: [process.env.REDIRECT_URI],
      response_types: ["code"],
      grant_types: ["authorization_code"],
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // Streamlit reads the identity from the ID token.
  conformIdTokenClaims: false,
  cookies: { keys: ["strata-test-cookie-key"] },
  async findAccount(ctx, id) {
    const verified = !id.startsWith("unverified-");
    const email = id.replace(/^unverified-/, "");
    return {
      accountId: id,
      async claims() {
        return { sub: id, email, email_verified: verified, name: email.split("@")[0] };
      },
    };
  },
});

provider.listen(port, "127.0.0.1", () => console.log(`ready ${issuer}`));
