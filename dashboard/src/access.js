// What the signed-in principal may do, from /api/auth/status's roles: a
// role on "*" covers every site. The server decides; this only hides the
// controls that would answer 403.
const RANK = { viewer: 1, admin: 2, owner: 3 };

/** Whether `auth` has at least role `need` on `site` ("*" = every site). */
export function can(auth, need, site) {
  const roles = (auth && auth.roles) || {};
  const rank = (r) => RANK[r] || 0;
  const have = Math.max(rank(roles['*']), site && site !== '*' ? rank(roles[site]) : 0);
  return have >= RANK[need];
}
