// Every HTTP route the console calls, in one place: the console uses only the public and admin APIs.

const q = encodeURIComponent;

export const routes = {
  // Accounts (gateway). Pages built on these show "not available" until the routes answer.
  register: "/v1/auth/register",
  login: "/v1/auth/login",
  refresh: "/v1/auth/refresh",
  logout: "/v1/auth/logout",
  resetStart: "/v1/auth/password-reset",
  resetFinish: "/v1/auth/password-reset/confirm",
  me: "/v1/me",
  keys: "/v1/keys",
  key: (id) => `/v1/keys/${q(id)}`,
  rotateKey: (id) => `/v1/keys/${q(id)}/rotate`,
  // Credits (billing) and usage (analytics), forwarded by the gateway.
  balance: "/v1/credits/balance",
  transactions: "/v1/credits/transactions",
  redeemCoupon: "/v1/coupons/redeem",
  usage: "/v1/usage",
  usageRequests: "/v1/usage/requests",
  // Operators (admin key).
  adminUsers: "/admin/v1/users",
  adminUser: (id) => `/admin/v1/users/${q(id)}`,
  adminUserKeys: (id) => `/admin/v1/users/${q(id)}/api-keys`,
  adminGrant: (id) => `/admin/v1/accounts/${q(id)}/grants`,
  adminRefund: (id) => `/admin/v1/transactions/${q(id)}/refund`,
  adminTransactions: "/admin/v1/transactions",
  adminUsage: "/admin/v1/usage",
  adminRequests: "/admin/v1/requests",
  breakers: "/admin/v1/circuit-breakers",
  // A deployment key is "provider/upstream_model": its slash stays a path separator.
  breaker: (deployment) => `/admin/v1/circuit-breakers/${deployment.split("/").map(q).join("/")}`,
  incidents: "/admin/v1/incidents",
  resolveIncident: (id) => `/admin/v1/incidents/${q(id)}/resolve`,
  coupons: "/admin/v1/coupons",
};
