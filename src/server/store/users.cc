// Provider, users, sessions, API tokens and TOTP.

#include <algorithm>
#include <cctype>
#include <optional>

#include "mail_address.h"
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

// A user's e-mail is where account mail goes (and a login name): an RFC 5321 mailbox with no
// control characters, so that it can never carry SMTP commands or mail headers.
bool valid_email(std::string_view e) { return check_mailbox(e).ok(); }

constexpr std::string_view kMinPasswordMessage = "password is shorter than 12 characters";

}  // namespace

Result<User> Store::init_provider(std::string_view provider_name, std::string_view email,
                                  std::string_view password) {
  if (provider_name.empty()) return core::make_error_code(400, "provider name is empty");
  if (!valid_email(email))
    return core::make_error_code(400, "'{}' is not an e-mail address", email);
  if (password.size() < 12) {
    return core::make_error_code(400, "{}", kMinPasswordMessage);
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
    return core::make_error_code(400, "{}", kMinPasswordMessage);
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
    auto r = tx.q(fmt::format("SELECT {}, disabled FROM users WHERE ($1 = '' OR customer_id = $1) "
                              "ORDER BY email, id{}",
                              kUserColumns, page_sql(limit, offset)),
                  {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(user_from(*r, i));
      out.back().disabled = r->i64(i, 7) != 0;
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<User> Store::get_user(const Principal& p, std::string_view user_id) {
  Result<User> out = core::make_error_code(404, "user '{}' not found", user_id);
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {}, disabled FROM users WHERE id = $1", kUserColumns),
                  {sp(user_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) {
      out = user_from(*r, 0);
      out->disabled = r->i64(0, 7) != 0;
    }
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

namespace {

// The throttle's key for a typed e-mail: a hash of it, lower-cased, so that the table holds no
// typed text (people type passwords into the e-mail field) and case does not make a new key.
std::string throttle_key(std::string_view email) {
  std::string lower(email);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return secret_hash(lower);
}

// The wait after `failures` failures: none up to `max_failures`, then 2 s, 4 s, 8 s … up to
// `cap_s`.
int64_t throttle_delay_s(int64_t failures, int64_t max_failures, int64_t cap_s) {
  if (failures < max_failures) return 0;
  const int64_t k = failures - max_failures + 1;
  if (k >= 30) return cap_s;
  return std::min<int64_t>(int64_t{1} << k, cap_s);
}

}  // namespace

Result<Session> Store::login(std::string_view email, std::string_view password,
                             std::string_view totp, std::string_view source_ip,
                             int64_t* retry_after_s) {
  const int64_t now = core::now().micros;
  const int64_t expired_before = now - options_.login_failure_window_s * 1000000;
  const std::string key = throttle_key(email);
  Principal who;
  who.name = std::string(email);
  who.source_ip = std::string(source_ip);
  std::optional<User> user;
  std::string hash, totp_secret;
  int64_t totp_last_step = 0, login_alert_at = 0, next_allowed_at = 0;
  bool disabled = false;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto t = tx.q(
        "SELECT next_allowed_at FROM login_throttle WHERE account = $1 AND source_ip = $2 AND "
        "last_failure_at >= $3",
        {sp(key), sp(source_ip), sp(expired_before)});
    if (!t.ok()) return t.error();
    if (!t->empty()) next_allowed_at = t->i64(0, 0);
    auto r =
        tx.q(fmt::format("SELECT {}, password_hash, COALESCE(totp_secret, ''), "
                         "totp_last_step, disabled, login_alert_at FROM users WHERE email = $1",
                         kUserColumns),
             {sp(email)});
    if (!r.ok()) return r.error();
    if (r->empty()) return {};
    user = user_from(*r, 0);
    hash = r->str(0, 7);
    totp_secret = r->str(0, 8);
    totp_last_step = r->i64(0, 9);
    disabled = r->i64(0, 10) != 0;
    login_alert_at = r->i64(0, 11);
    return {};
  });
  if (!st.ok()) return st.error();
  const std::string object_id = user ? user->id : std::string(email);
  const std::string customer_id = user ? user->customer_id : std::string();
  if (next_allowed_at > now) {
    // The same answer whether the e-mail is an account or not: the key is the typed text.
    const int64_t wait_s = (next_allowed_at - now + 999999) / 1000000;
    if (retry_after_s) *retry_after_s = wait_s;
    (void)audit(who, "auth.login", "user", object_id, customer_id, {}, "{\"reason\":\"throttled\"}",
                "denied");
    return core::make_error_code(
        429, "too many failed logins for this e-mail from this address: try again in {} seconds",
        wait_s);
  }
  bool password_ok = false;
  if (!user) {
    // Spend the same time as a real check so that timing does not tell which e-mails exist.
    static const std::string kDummy = hash_password("not a password of anyone").value_or("");
    (void)verify_password(kDummy, password);
  } else {
    password_ok = verify_password(hash, password) && !disabled;
  }
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
      // Counted for (typed e-mail, source address) whether the account exists or not; an
      // expired counter starts again at 1. Timed from now, after the password check: the wait
      // runs from the answer, however long Argon2 took.
      const int64_t failed_at = core::now().micros;
      auto r = tx.q(
          "INSERT INTO login_throttle (account, source_ip, failures, last_failure_at, "
          "next_allowed_at) VALUES ($1, $2, 1, $3, 0) ON CONFLICT (account, source_ip) DO UPDATE "
          "SET failures = CASE WHEN login_throttle.last_failure_at < $4 THEN 1 ELSE "
          "login_throttle.failures + 1 END, last_failure_at = $3",
          {sp(key), sp(source_ip), sp(failed_at), sp(expired_before)});
      if (!r.ok()) return r.error();
      r = tx.q("SELECT failures FROM login_throttle WHERE account = $1 AND source_ip = $2",
               {sp(key), sp(source_ip)});
      if (!r.ok()) return r.error();
      const int64_t failures = r->empty() ? 1 : r->i64(0, 0);
      const int64_t wait_s =
          throttle_delay_s(failures, options_.login_max_failures, options_.login_lock_s);
      if (wait_s > 0) {
        r = tx.q(
            "UPDATE login_throttle SET next_allowed_at = $3 WHERE account = $1 AND source_ip = $2",
            {sp(key), sp(source_ip), sp(failed_at + wait_s * 1000000)});
        if (!r.ok()) return r.error();
      }
      // Old counters go when new ones come, so the table stays as small as the attempts of
      // one window.
      if (failures == 1) {
        r = tx.q("DELETE FROM login_throttle WHERE last_failure_at < $1", {sp(expired_before)});
        if (!r.ok()) return r.error();
      }
      if (user && failures >= options_.login_max_failures && login_alert_at == 0) {
        // Throttling starts: the owner hears of it once, until the next successful login.
        r = tx.q("UPDATE users SET login_alert_at = $2 WHERE id = $1 AND login_alert_at = 0",
                 {sp(user->id), sp(failed_at)});
        if (!r.ok()) return r.error();
        if (r->affected == 1) {
          std::string body = fmt::format(
              "アカウント {} へのログインが {} から {} 回続けて失敗したため、そのアドレスからの"
              "ログインを一時的に遅らせています。\n心当たりがない場合は、パスワードを変更し、"
              "管理者に連絡してください。\n",
              user->email, source_ip, failures);
          r = tx.q(
              "INSERT INTO outbox (id, customer_id, channel_id, kind, target, secret, "
              "idempotency_key, subject, body, status, next_attempt_at, created_at) VALUES ($1, "
              "$2, 'account', 'email', $3, NULL, $4, $5, $6, 'pending', $7, $7) ON CONFLICT "
              "(idempotency_key) DO NOTHING",
              {sp(random_id("msg")), sp_or_null(user->customer_id), sp(user->email),
               sp(fmt::format("{}:login-throttled:{}", user->id, failed_at)),
               sp("[見守り] ログインの失敗が続いています"), sp(body), sp(failed_at)});
          if (!r.ok()) return r.error();
        }
      }
      const char* reason = !user      ? "{\"reason\":\"unknown user\"}"
                           : disabled ? "{\"reason\":\"disabled\"}"
                                      : "{\"reason\":\"bad credentials\"}";
      return audit_in(tx, who, "auth.login", "user", object_id, customer_id, {}, reason, "denied");
    }
    auto r = tx.q("DELETE FROM login_throttle WHERE account = $1 AND source_ip = $2",
                  {sp(key), sp(source_ip)});
    if (!r.ok()) return r.error();
    r = tx.q("UPDATE users SET login_alert_at = 0 WHERE id = $1 AND login_alert_at <> 0",
             {sp(user->id)});
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
                              "s.expires_at > $2 AND u.disabled = 0"),
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
                              "0 AND u.disabled = 0"),
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

namespace {

// Reads a user by id (nothing when there is none).
Result<std::optional<User>> user_by_id(SqlTx& tx, std::string_view id) {
  auto r = tx.q(fmt::format("SELECT {} FROM users WHERE id = $1", kUserColumns), {sp(id)});
  if (!r.ok()) return r.error();
  if (r->empty()) return std::optional<User>();
  return std::optional<User>(user_from(*r, 0));
}

// The same, in a read transaction of its own.
Result<std::optional<User>> read_user(Store& store, std::string_view id) {
  std::optional<User> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto u = user_by_id(tx, id);
    if (!u.ok()) return u.error();
    out = std::move(*u);
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace

// Who may act on another user's account: oneself when `self_ok`, a provider_admin always, a
// customer_admin on the customer users of the own organisation when `customer_admin_ok`. A
// denial is audited under the actor's customer; a customer role learns nothing of other
// tenants' users (404).
static Status may_manage(Store& store, const Principal& p, const std::optional<User>& target,
                         std::string_view user_id, bool self_ok, bool customer_admin_ok,
                         std::string_view action) {
  if (p.is_device) return core::make_error_code(403, "devices cannot manage users");
  if (!target) return core::make_error_code(404, "user '{}' not found", user_id);
  if (p.is_system) return {};
  if (self_ok && target->id == p.user_id) return {};
  if (p.role == Role::kProviderAdmin) return {};
  const bool customer_actor = !is_provider_role(p.role);
  if (customer_admin_ok && p.role == Role::kCustomerAdmin && !is_provider_role(target->role) &&
      target->customer_id == p.customer_id) {
    return {};
  }
  (void)store.audit(p, action, "user", user_id,
                    customer_actor ? p.customer_id : target->customer_id, {}, {}, "denied");
  if (customer_actor && target->customer_id != p.customer_id) {
    return core::make_error_code(404, "user '{}' not found", user_id);
  }
  return core::make_error_code(403, "role {} may not {} user '{}'", role_name(p.role), action,
                               user_id);
}

Result<std::vector<ApiTokenInfo>> Store::list_api_tokens(const Principal& p,
                                                         std::string_view user_id) {
  if (p.user_id.empty() && !p.is_system)
    return core::make_error_code(403, "only users have API tokens");
  if (user_id.empty()) user_id = p.user_id;
  std::vector<ApiTokenInfo> out;
  auto found = read_user(*this, user_id);
  if (!found.ok()) return found.error();
  const std::optional<User>& target = *found;
  if (auto a = may_manage(*this, p, target, user_id, true, false, "api_token.list"); !a.ok()) {
    return a.error();
  }
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id, user_id, name, created_at, revoked FROM api_tokens WHERE user_id = $1 ORDER "
        "BY created_at DESC, id",
        {sp(user_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      ApiTokenInfo t;
      t.id = r->str(i, 0);
      t.user_id = r->str(i, 1);
      t.name = r->str(i, 2);
      t.created_at = r->i64(i, 3);
      t.revoked = r->i64(i, 4) != 0;
      out.push_back(std::move(t));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Status Store::revoke_api_token(const Principal& p, std::string_view token_id) {
  if (p.user_id.empty() && !p.is_system)
    return core::make_error_code(403, "only users revoke API tokens");
  std::string owner, owner_customer;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT t.user_id, COALESCE(u.customer_id, '') FROM api_tokens t JOIN users u ON u.id = "
        "t.user_id WHERE t.id = $1",
        {sp(token_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) {
      owner = r->str(0, 0);
      owner_customer = r->str(0, 1);
    }
    return {};
  });
  if (!st.ok()) return st.error();
  if (owner.empty()) return core::make_error_code(404, "API token '{}' not found", token_id);
  if (owner != p.user_id && !p.is_system && p.role != Role::kProviderAdmin) {
    // Another user's token is not there for anyone but a provider_admin.
    const bool customer_actor = !is_provider_role(p.role);
    (void)audit(p, "api_token.revoke", "api_token", token_id,
                customer_actor ? p.customer_id : owner_customer, {}, {}, "denied");
    return core::make_error_code(404, "API token '{}' not found", token_id);
  }
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("UPDATE api_tokens SET revoked = 1 WHERE id = $1", {sp(token_id)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "api_token.revoke", "api_token", token_id, owner_customer, {},
                    "{\"revoked\":true}", "ok");
  });
}

Result<int64_t> Store::end_sessions(const Principal& p, std::string_view user_id) {
  auto found = read_user(*this, user_id);
  if (!found.ok()) return found.error();
  const std::optional<User>& target = *found;
  if (auto a = may_manage(*this, p, target, user_id, true, true, "user.sessions.revoke"); !a.ok()) {
    return a.error();
  }
  int64_t ended = 0;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("DELETE FROM sessions WHERE user_id = $1", {sp(user_id)});
    if (!r.ok()) return r.error();
    ended = r->affected;
    return audit_in(tx, p, "user.sessions.revoke", "user", user_id, target->customer_id, {},
                    fmt::format("{{\"sessions_ended\":{}}}", ended), "ok");
  });
  if (!st.ok()) return st.error();
  return ended;
}

Status Store::set_user_disabled(const Principal& p, std::string_view user_id, bool disabled) {
  const std::string_view action = disabled ? "user.disable" : "user.enable";
  auto found = read_user(*this, user_id);
  if (!found.ok()) return found.error();
  const std::optional<User>& target = *found;
  // Not oneself: the last provider_admin could lock the provider out.
  if (auto a = may_manage(*this, p, target, user_id, false, true, action); !a.ok()) return a;
  if (target->id == p.user_id) {
    return core::make_error_code(400, "a user cannot disable or enable their own account");
  }
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r =
        tx.q("UPDATE users SET disabled = $2 WHERE id = $1", {sp(user_id), sp(disabled ? 1 : 0)});
    if (!r.ok()) return r.error();
    int64_t ended = 0;
    if (disabled) {
      r = tx.q("DELETE FROM sessions WHERE user_id = $1", {sp(user_id)});
      if (!r.ok()) return r.error();
      ended = r->affected;
    }
    return audit_in(tx, p, action, "user", user_id, target->customer_id, {},
                    fmt::format("{{\"disabled\":{},\"sessions_ended\":{}}}", disabled, ended),
                    "ok");
  });
}

Status Store::change_password(const Principal& p, std::string_view current, std::string_view next,
                              std::string_view keep_session_token) {
  if (p.user_id.empty()) return core::make_error_code(403, "only users have passwords");
  if (next.size() < 12) return core::make_error_code(400, "{}", kMinPasswordMessage);
  std::string stored;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT password_hash FROM users WHERE id = $1", {sp(p.user_id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return core::make_error_code(404, "user '{}' not found", p.user_id);
    stored = r->str(0, 0);
    return {};
  });
  if (!st.ok()) return st;
  if (!verify_password(stored, current)) {
    (void)audit(p, "user.password.change", "user", p.user_id, p.customer_id, {},
                "{\"reason\":\"current password is wrong\"}", "denied");
    return core::make_error_code(403, "the current password is wrong");
  }
  auto hash = hash_password(next);
  if (!hash.ok()) return hash.error();
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("UPDATE users SET password_hash = $2 WHERE id = $1", {sp(p.user_id), sp(*hash)});
    if (!r.ok()) return r.error();
    r = tx.q("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
             {sp(p.user_id),
              sp(keep_session_token.empty() ? std::string() : secret_hash(keep_session_token))});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "user.password.change", "user", p.user_id, p.customer_id, {},
                    fmt::format("{{\"other_sessions_ended\":{}}}", r->affected), "ok");
  });
}

Status Store::reset_password(const Principal& p, std::string_view user_id,
                             std::string_view password) {
  auto found = read_user(*this, user_id);
  if (!found.ok()) return found.error();
  const std::optional<User>& target = *found;
  // provider_admin only (oneself included: changing one's own goes through the current one).
  if (auto a = may_manage(*this, p, target, user_id, false, false, "user.password.reset");
      !a.ok()) {
    return a;
  }
  if (password.size() < 12) return core::make_error_code(400, "{}", kMinPasswordMessage);
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.error();
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("UPDATE users SET password_hash = $2 WHERE id = $1", {sp(user_id), sp(*hash)});
    if (!r.ok()) return r.error();
    r = tx.q("DELETE FROM sessions WHERE user_id = $1", {sp(user_id)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "user.password.reset", "user", user_id, target->customer_id, {},
                    fmt::format("{{\"sessions_ended\":{}}}", r->affected), "ok");
  });
}

}  // namespace mimamori::server
