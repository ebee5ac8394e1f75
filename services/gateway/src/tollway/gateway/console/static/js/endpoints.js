// Every HTTP route the console calls, in one place: the console uses only the public and admin APIs.

const q = encodeURIComponent;

export const routes = {
  // Accounts (gateway, ADR 009): session tokens from login are accepted on every route below but the admin ones.
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
  // Chat history (gateway): the caller's saved conversations.
  chatSessions: "/v1/chat/sessions",
  chatSession: (id) => `/v1/chat/sessions/${q(id)}`,
  chatMessages: (id) => `/v1/chat/sessions/${q(id)}/messages`,
  chatSearch: "/v1/chat/search",
  chatStats: "/v1/chat/stats",
  chatFeedbackStats: "/v1/chat/feedback/stats",
  // Operators (admin key).
  adminUsers: "/admin/v1/users",
  adminUser: (id) => `/admin/v1/users/${q(id)}`,
  adminUserDetail: (id) => `/admin/v1/users/${q(id)}/detail`,
  adminGrant: (id) => `/admin/v1/accounts/${q(id)}/grants`,
  adminRefund: (id) => `/admin/v1/transactions/${q(id)}/refund`,
  bulkGrants: "/admin/v1/grants/bulk",
  audit: "/admin/v1/audit",
  adminTransactions: "/admin/v1/transactions",
  adminUsage: "/admin/v1/usage",
  adminRequests: "/admin/v1/requests",
  adminRequestSeries: "/admin/v1/requests/series",
  adminRequestSummary: "/admin/v1/requests/summary",
  adminByProvider: "/admin/v1/requests/by-provider",
  trackingQuality: "/admin/v1/tracking/quality",
  trackingTrend: "/admin/v1/tracking/trend",
  statement: (id, month) => `/admin/v1/accounts/${q(id)}/statement?month=${q(month)}`,
  breakers: "/admin/v1/circuit-breakers",
  // A deployment key is "provider/upstream_model": its slash stays a path separator.
  breaker: (deployment) => `/admin/v1/circuit-breakers/${deployment.split("/").map(q).join("/")}`,
  incidents: "/admin/v1/incidents",
  incidentLogs: (id) => `/admin/v1/incidents/${q(id)}/logs`,
  resolveIncident: (id) => `/admin/v1/incidents/${q(id)}/resolve`,
  coupons: "/admin/v1/coupons",
  couponAnalytics: (id) => `/admin/v1/coupons/${q(id)}/analytics`,
  trials: "/admin/v1/trials/analytics",
};
