// Provider, users, sessions, API tokens and TOTP.

#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/server/store.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kUserColumns =
    "id, email, name, role, COALESCE(customer_id, ''), totp_enabled, created_at";

User user_from(const SqlRows& r, size_t i) {
  User u;
  u.id = r.str(i, 0);
  u.email = r.str(i, 1);
  u.name = r.str(i, 2);
  u.role = parse_role(r.str(i, 3)).value_or(Role::kCustomerUser);
  u.customer_id = r.str(i, 4);
  u.totp_enabled = r.i64(i, 5) != 0;
  u.created_at = r.i64(i, 6);
  return u;
}

std::string user_json(const User& u) {
  std::string j = "{\"id\":";
  core::append_json_string(j, u.id);
  j += ",\"email\":";
  core::append_json_string(j, u.email);
  j += ",\"role\":";
  core::append_json_string(j, role_name(u.role));
  j += ",\"customer_id\":";
  core::append_json_string(j, u.customer_id);
  j += '}';
  return j;
}

Principal principal_of(const User& u) {
  Principal p;
  p.user_id = u.id;
  p.name = u.email;
  p.role = u.role;
  p.customer_id = u.customer_id;
  return p;
}

bool valid_email(std::string_view e) {
  auto at = e.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < e.size() && e.size() <= 254 &&
         e.find(' ') == std::string_view::npos;
}

}  // namespace

Result<User> Store::init_provider(std::string_view provider_name, std::string_view email,
                                  std::string_view password) {
  if (provider_name.empty()) return core::make_error_code(400, "provider name is empty");
  if (!valid_email(email))
    return core::make_error_code(400, "'{}' is not an e-mail address", email);
  if (password.size() < 12) {
    return core::make_error_code(400, "password is shorter than 12 characters");
  }
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.error();
  User u;
  u.id = random_id("usr");
  u.email = std::string(email);
  u.name = std::string(email);
  u.role = Role::kProviderAdmin;
  u.created_at = core::now().micros;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto have = tx.q("SELECT COUNT(*) FROM providers");
    if (!have.ok()) return have.error();
    if (have->i64(0, 0) > 0) {
      return core::make_error_code(409, "the provider is already initialised");
    }
    auto r = tx.q("INSERT INTO providers (id, name, created_at) VALUES ($1, $2, $3)",
                  {sp(random_id("prv")), sp(provider_name), sp(u.created_at)});
    if (!r.ok()) return r.error();
    r = tx.q(
        "INSERT INTO users (id, customer_id, email, name, role, password_hash, created_at) "
        "VALUES ($1, NULL, $2, $3, $4, $5, $6)",
        {sp(u.id), sp(u.email), sp(u.name), sp(role_name(u.role)), sp(*hash), sp(u.created_at)});
    if (!r.ok()) return r.error();
    return audit_in(tx, Principal::system("admin-init"), "provider.init", "user", u.id, {}, {},
                    user_json(u), "ok");
  });
  if (!st.ok()) return st.error();
  return u;
}

Result<User> Store::create_user(const Principal& p, std::string_view email, std::string_view name,
                                std::string_view password, Role role,
                                std::string_view customer_id) {
  if (is_provider_role(role)) {
    if (!p.is_system && p.role != Role::kProviderAdmin) {
      (void)audit(p, "user.create", "user", email, {}, {}, {}, "denied");
      return core::make_error_code(403, "only a provider_admin creates provider users");
    }
    customer_id = {};
  } else {
    if (customer_id.empty()) {
      return core::make_error_code(400, "a {} needs a customer_id", role_name(role));
    }
    if (auto st = allow(p, customer_id, true, "user.create", "customer", customer_id); !st.ok()) {
      return st.error();
    }
  }
  if (!valid_email(email))
    return core::make_error_code(400, "'{}' is not an e-mail address", email);
  if (password.size() < 12) {
    return core::make_error_code(400, "password is shorter than 12 characters");
  }
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.error();
  User u;
  u.id = random_id("usr");
  u.email = std::string(email);
  u.name = std::string(name.empty() ? email : name);
  u.role = role;
  u.customer_id = std::string(customer_id);
  u.created_at = core::now().micros;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    if (!u.customer_id.empty()) {
      auto c = tx.q("SELECT id FROM customers WHERE id = $1", {sp(u.customer_id)});
      if (!c.ok()) return c.error();
      if (c->empty()) return core::make_error_code(404, "customer '{}' not found", u.customer_id);
    }
    auto dup = tx.q("SELECT id FROM users WHERE email = $1", {sp(u.email)});
    if (!dup.ok()) return dup.error();
    if (!dup->empty()) return core::make_error_code(409, "user '{}' already exists", u.email);
    auto r = tx.q(
        "INSERT INTO users (id, customer_id, email, name, role, password_hash, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {sp(u.id), sp_or_null(u.customer_id), sp(u.email), sp(u.name), sp(role_name(u.role)),
         sp(*hash), sp(u.created_at)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "user.create", "user", u.id, u.customer_id, {}, user_json(u), "ok");
  });
  if (!st.ok()) return st.error();
  return u;
}

Result<std::vector<User>> Store::list_users(const Principal& p, std::string_view customer_id,
                                            int64_t limit, int64_t offset) {
  if (p.is_device) return core::make_error_code(403, "devices cannot list users");
  if (!is_provider_role(p.role) && !p.is_system) {
    if (customer_id.empty()) customer_id = p.customer_id;
    if (auto a = allow(p, customer_id, false, "user.list", "customer", customer_id); !a.ok()) {
      return a.error();
    }
  }
  std::vector<User> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM users WHERE ($1 = '' OR customer_id = $1) ORDER "
                              "BY email, id{}",
                              kUserColumns, page_sql(limit, offset)),
                  {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(user_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<User> Store::get_user(const Principal& p, std::string_view user_id) {
  Result<User> out = core::make_error_code(404, "user '{}' not found", user_id);
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM users WHERE id = $1", kUserColumns), {sp(user_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) out = user_from(*r, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (out.ok() && out->id != p.user_id) {
    if (auto a = allow(p, out->customer_id, false, "user.read", "user", user_id); !a.ok()) {
      return a.error();
    }
  }
  return out;
}

Result<Session> Store::login(std::string_view email, std::string_view password,
                             std::string_view totp, std::string_view source_ip) {
  const int64_t now = core::now().micros;
  Principal who;
  who.name = std::string(email);
  who.source_ip = std::string(source_ip);
  std::optional<User> user;
  std::string hash, totp_secret;
  int64_t locked_until = 0, totp_last_step = 0;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {}, password_hash, COALESCE(totp_secret, ''), "
                              "locked_until, totp_last_step FROM users WHERE email = $1",
                              kUserColumns),
                  {sp(email)});
    if (!r.ok()) return r.error();
    if (r->empty()) return {};
    user = user_from(*r, 0);
    hash = r->str(0, 7);
    totp_secret = r->str(0, 8);
    locked_until = r->i64(0, 9);
    totp_last_step = r->i64(0, 10);
    return {};
  });
  if (!st.ok()) return st.error();
  if (!user) {
    // Spend the same time as a real check so that timing does not tell which e-mails exist.
    static const std::string kDummy = hash_password("not a password of anyone").value_or("");
    (void)verify_password(kDummy, password);
    (void)audit(who, "auth.login", "user", email, {}, {}, "{\"reason\":\"unknown user\"}",
                "denied");
    return core::make_error_code(401, "e-mail or password is wrong");
  }
  if (locked_until > now) {
    (void)audit(who, "auth.login", "user", user->id, user->customer_id, {},
                "{\"reason\":\"locked\"}", "denied");
    return core::make_error_code(
        429, "too many failed logins: the account is locked for {} more seconds",
        (locked_until - now) / 1000000 + 1);
  }
  const bool password_ok = verify_password(hash, password);
  // The TOTP step this login would use up: a code counts only for a step later than the last
  // one accepted, so a code seen once (over a shoulder, in a proxy's log) cannot log in again.
  int64_t totp_step_used = 0;
  if (password_ok && user->totp_enabled) {
    auto seed = secrets().open(totp_secret, fmt::format("users.totp_secret of {}", user->id));
    if (!seed.ok()) return seed.error();
    totp_step_used = totp_step(*seed, totp, now / 1000000, totp_last_step);
    if (totp_step_used == 0 && totp.empty()) {
      (void)audit(who, "auth.login", "user", user->id, user->customer_id, {},
                  "{\"reason\":\"totp required\"}", "denied");
      return core::make_error_code(401, "a TOTP code is required for this account");
    }
  }
  bool ok = false;
  Session s;
  st = transact(true, [&](SqlTx& tx) -> Status {
    ok = password_ok && (!user->totp_enabled || totp_step_used != 0);
    if (ok && user->totp_enabled) {
      // Claimed in the login's own transaction, and only if no other login claimed this step
      // (or a later one) meanwhile: of two concurrent logins with one code, one gets 0 rows.
      auto r = tx.q("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
                    {sp(user->id), sp(totp_step_used)});
      if (!r.ok()) return r.error();
      ok = r->affected == 1;
    }
    if (!ok) {
      auto r = tx.q(
          "UPDATE users SET failed_logins = failed_logins + 1, locked_until = CASE WHEN "
          "failed_logins + 1 >= $2 THEN $3 ELSE locked_until END WHERE id = $1",
          {sp(user->id), sp(options_.login_max_failures),
           sp(now + options_.login_lock_s * 1000000)});
      if (!r.ok()) return r.error();
      return audit_in(tx, who, "auth.login", "user", user->id, user->customer_id, {},
                      "{\"reason\":\"bad credentials\"}", "denied");
    }
    auto r =
        tx.q("UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1", {sp(user->id)});
    if (!r.ok()) return r.error();
    s.token = random_secret();
    s.csrf_token = random_secret();
    s.user = *user;
    r = tx.q(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES "
        "($1, $2, $3, $4, $5)",
        {sp(secret_hash(s.token)), sp(user->id), sp(s.csrf_token), sp(now),
         sp(now + options_.session_ttl_s * 1000000)});
    if (!r.ok()) return r.error();
    return audit_in(tx, who, "auth.login", "user", user->id, user->customer_id, {}, {}, "ok");
  });
  if (!st.ok()) return st.error();
  if (!ok) return core::make_error_code(401, "e-mail or password is wrong");
  return s;
}

Status Store::logout(std::string_view session_token) {
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("DELETE FROM sessions WHERE token_hash = $1", {sp(secret_hash(session_token))});
    if (!r.ok()) return r.error();
    return {};
  });
}

Result<Principal> Store::authenticate_session(std::string_view token, std::string* csrf_token) {
  Result<Principal> out = core::make_error_code(401, "the session is unknown or expired");
  const int64_t now = core::now().micros;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT u.id, u.email, u.name, u.role, COALESCE(u.customer_id, "
                              "''), u.totp_enabled, u.created_at, s.csrf_token FROM sessions s "
                              "JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND "
                              "s.expires_at > $2"),
                  {sp(secret_hash(token)), sp(now)});
    if (!r.ok()) return r.error();
    if (r->empty()) return {};
    out = principal_of(user_from(*r, 0));
    if (csrf_token) *csrf_token = r->str(0, 7);
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::string> Store::create_api_token(const Principal& p, std::string_view name) {
  if (p.user_id.empty()) return core::make_error_code(403, "only users create API tokens");
  std::string id = random_id("tok");
  std::string secret = random_secret();
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, "
        "$4, $5)",
        {sp(id), sp(p.user_id), sp(name), sp(secret_hash(secret)), sp(core::now().micros)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "api_token.create", "api_token", id, p.customer_id, {}, {}, "ok");
  });
  if (!st.ok()) return st.error();
  return "mmt_" + id.substr(4) + "." + secret;
}

Result<Principal> Store::authenticate_api_token(std::string_view token) {
  auto dot = token.find('.');
  if (!token.starts_with("mmt_") || dot == std::string_view::npos) {
    return core::make_error_code(401, "the API token is malformed");
  }
  std::string id = "tok_" + std::string(token.substr(4, dot - 4));
  std::string hash = secret_hash(token.substr(dot + 1));
  Result<Principal> out = core::make_error_code(401, "the API token is unknown or revoked");
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT u.id, u.email, u.name, u.role, COALESCE(u.customer_id, "
                              "''), u.totp_enabled, u.created_at, t.token_hash FROM api_tokens t "
                              "JOIN users u ON u.id = t.user_id WHERE t.id = $1 AND t.revoked = "
                              "0"),
                  {sp(id)});
    if (!r.ok()) return r.error();
    if (r->empty() || !equal_secret(r->str(0, 7), hash)) return {};
    out = principal_of(user_from(*r, 0));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::string> Store::totp_begin(const Principal& p) {
  if (p.user_id.empty()) return core::make_error_code(403, "only users enable TOTP");
  std::string secret = random_totp_secret();
  auto sealed = secrets().seal(secret);
  if (!sealed.ok()) return sealed.error();
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_enabled = 0",
                  {sp(p.user_id), sp(*sealed)});
    if (!r.ok()) return r.error();
    if (r->affected == 0) return core::make_error_code(409, "TOTP is already enabled");
    return audit_in(tx, p, "totp.begin", "user", p.user_id, p.customer_id, {}, {}, "ok");
  });
  if (!st.ok()) return st.error();
  return secret;
}

Status Store::totp_confirm(const Principal& p, std::string_view code) {
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT COALESCE(totp_secret, '') FROM users WHERE id = $1", {sp(p.user_id)});
    if (!r.ok()) return r.error();
    if (r->empty() || r->str(0, 0).empty()) {
      return core::make_error_code(409, "start TOTP enrolment first");
    }
    auto seed = secrets().open(r->str(0, 0), fmt::format("users.totp_secret of {}", p.user_id));
    if (!seed.ok()) return seed.error();
    int64_t step = totp_step(*seed, code, core::now().seconds(), 0);
    if (step == 0) return core::make_error_code(400, "the TOTP code does not match");
    // The code shown to confirm enrolment is used up too: it cannot log in afterwards.
    auto u = tx.q(
        "UPDATE users SET totp_enabled = 1, totp_last_step = CASE WHEN totp_last_step < $2 THEN "
        "$2 ELSE totp_last_step END WHERE id = $1",
        {sp(p.user_id), sp(step)});
    if (!u.ok()) return u.error();
    return audit_in(tx, p, "totp.enable", "user", p.user_id, p.customer_id, {}, {}, "ok");
  });
}

}  // namespace mimamori::server
