// Credentials live in sessionStorage: they end with the tab and never reach a cookie or another origin.

const USER = "tollway.console.user";
const ADMIN = "tollway.console.admin";

function read(name) {
  try {
    return JSON.parse(sessionStorage.getItem(name) || "null");
  } catch {
    return null;
  }
}

export const session = {
  user: () => read(USER),
  admin: () => read(ADMIN),
  // kind: "key" (a Tollway API key) or "token" (a session access token, with its refresh token).
  signIn(kind, secret, label, refresh = null) {
    sessionStorage.setItem(USER, JSON.stringify({ kind, secret, label, refresh }));
  },
  updateToken(secret, refresh) {
    const user = read(USER);
    if (user) sessionStorage.setItem(USER, JSON.stringify({ ...user, secret, refresh: refresh ?? user.refresh }));
  },
  signOut: () => sessionStorage.removeItem(USER),
  adminSignIn: (key) => sessionStorage.setItem(ADMIN, JSON.stringify({ key })),
  adminSignOut: () => sessionStorage.removeItem(ADMIN),
};
