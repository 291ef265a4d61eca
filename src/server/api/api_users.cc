// Login, logout, me, TOTP, API tokens, users.

#include <algorithm>
#include <cctype>

#include "api/json_body.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"

namespace mimamori::server {

// --- the password pool -------------------------------------------------------------------

PasswordPool::PasswordPool(int threads, size_t queue_limit) : queue_limit_(queue_limit) {
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

PasswordPool::~PasswordPool() { stop(); }

bool PasswordPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= queue_limit_ + idle_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void PasswordPool::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void PasswordPool::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to answer
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // the call (and its HTTP session) goes before the next wait
    lock.lock();
  }
}

namespace {

// Runs `work` on the password pool with the call kept alive until it answers; a full queue is
// answered at once with 429 and Retry-After.
void on_password_pool(Call& call, std::function<void(Call&)> work) {
  auto keep = std::make_shared<Call>(std::move(call));
  bool queued = keep->api->password_pool().submit([keep, work = std::move(work)] {
    try {
      work(*keep);
    } catch (const std::exception& e) {
      keep->error(500, fmt::format("internal error: {}", e.what()));
    }
  });
  if (!queued) {
    keep->json(429, "{\"error\":\"the server is busy checking passwords; try again shortly\"}",
               {{"Retry-After", "1"}});
  }
}

}  // namespace

void h_login(Call& call) {
  if (!call.api->login_limiter().allow(call.req.remote_ip)) {
    (void)call.store->audit(call.principal, "auth.login", "user", "-", {}, {},
                            "{\"reason\":\"rate limited\"}", "denied");
    return call.json(429, "{\"error\":\"too many login attempts; wait a minute\"}",
                     {{"Retry-After", "60"}});
  }
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string email = get_string(*o, "email", &err), password = get_string(*o, "password", &err),
              totp = get_string(*o, "totp", &err);
  if (!err.empty()) return call.error(400, err);
  on_password_pool(call, [email, password, totp](Call& c) {
    int64_t retry_after_s = 0;
    auto s = c.store->login(email, password, totp, c.req.remote_ip, &retry_after_s);
    if (!s.ok()) {
      // The e-mail is the client's text: the logger escapes it, so it cannot forge a line.
      spdlog::warn("login refused for '{}' from {}: {}", email, c.req.remote_ip, s.error().message);
      if (s.error().code == 429) {
        return c.json(429, to_text(json::object{{"error", s.error().message}}),
                      {{"Retry-After", std::to_string(std::max<int64_t>(retry_after_s, 1))}});
      }
      return c.error(s.error());
    }
    json::object r;
    r["user"] = to_json(s->user);
    r["csrf_token"] = s->csrf_token;
    // Secure always: the server speaks HTTPS; plain HTTP is for loopback tests only.
    std::string cookie = fmt::format(
        "mm_session={}; Path=/; HttpOnly; Secure; SameSite=Strict; "
        "Max-Age={}",
        s->token, c.store->options().session_ttl_s);
    c.json(200, to_text(r), {{"Set-Cookie", cookie}});
  });
}

void h_logout(Call& call) {
  std::string token = call.req.cookie("mm_session");
  if (!token.empty()) (void)call.store->logout(token);
  call.json(200, "{}",
            {{"Set-Cookie",
              "mm_session=; Path=/; HttpOnly; Secure; SameSite=Strict; "
              "Max-Age=0"}});
}

void h_me(Call& call) {
  auto u = call.store->get_user(call.principal, call.principal.user_id);
  if (!u.ok()) return call.error(u.error());
  call.json(200, to_text(to_json(*u)));
}

// A key URI's label and parameters are percent-encoded (RFC 3986: all but the unreserved), so a
// name with spaces, '&', '?', '#' or Japanese in it neither breaks the URI nor adds parameters.
std::string uri_component(std::string_view v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

void h_totp_begin(Call& call) {
  if (!is_provider_role(call.principal.role)) {
    return call.error(403, "TOTP is for provider users");
  }
  auto s = call.store->totp_begin(call.principal);
  if (!s.ok()) return call.error(s.error());
  json::object r;
  r["secret"] = *s;
  r["otpauth_url"] = fmt::format("otpauth://totp/Mimamori:{}?secret={}&issuer=Mimamori",
                                 uri_component(call.principal.name), *s);
  call.json(200, to_text(r));
}

void h_totp_confirm(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string code = get_string(*o, "code", &err);
  if (!err.empty()) return call.error(400, err);
  auto st = call.store->totp_confirm(call.principal, code);
  if (!st.ok()) return call.error(st.error());
  call.json(200, "{\"totp_enabled\":true}");
}

void h_create_token(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string name = get_string(*o, "name", &err);
  if (!err.empty()) return call.error(400, err);
  auto t = call.store->create_api_token(call.principal, name.empty() ? "api" : name);
  if (!t.ok()) return call.error(t.error());
  call.json(201, to_text(json::object{{"token", *t}}));
}

void h_list_users(Call& call) {
  const int64_t limit = query_int(call.req, "limit", 100),
                offset = query_int(call.req, "offset", 0);
  auto u =
      call.store->list_users(call.principal, call.req.query_param("customer_id"), limit, offset);
  if (!u.ok()) return call.error(u.error());
  call.json(200, list_json(*u, limit, offset));
}

void h_create_user(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string email = get_string(*o, "email", &err), name = get_string(*o, "name", &err),
              password = get_string(*o, "password", &err), role = get_string(*o, "role", &err),
              customer = get_string(*o, "customer_id", &err);
  if (!err.empty()) return call.error(400, err);
  auto r = parse_role(role);
  if (!r) return call.error(400, fmt::format("role '{}' is unknown", role));
  const Role role_value = *r;
  on_password_pool(call, [=](Call& c) {
    auto u = c.store->create_user(c.principal, email, name, password, role_value, customer);
    if (!u.ok()) return c.error(u.error());
    c.json(201, to_text(to_json(*u)));
  });
}

void h_list_tokens(Call& call) {
  auto t = call.store->list_api_tokens(call.principal, call.req.query_param("user_id"));
  if (!t.ok()) return call.error(t.error());
  json::array items;
  for (const auto& x : *t) {
    json::object o;
    o["id"] = x.id;
    o["user_id"] = x.user_id;
    o["name"] = jstr(x.name);
    o["created_at"] = jtime(x.created_at);
    o["revoked"] = x.revoked;
    items.push_back(std::move(o));
  }
  call.json(200, to_text(json::object{{"items", std::move(items)}}));
}

void h_revoke_token(Call& call) {
  auto st = call.store->revoke_api_token(call.principal, call.param("id"));
  if (!st.ok()) return call.error(st.error());
  call.json(200, to_text(json::object{{"id", call.param("id")}, {"revoked", true}}));
}

void h_revoke_user_sessions(Call& call) {
  auto n = call.store->end_sessions(call.principal, call.param("id"));
  if (!n.ok()) return call.error(n.error());
  call.json(200, to_text(json::object{{"user_id", call.param("id")}, {"sessions_ended", *n}}));
}

namespace {

void set_disabled(Call& call, bool disabled) {
  auto st = call.store->set_user_disabled(call.principal, call.param("id"), disabled);
  if (!st.ok()) return call.error(st.error());
  call.json(200, to_text(json::object{{"user_id", call.param("id")}, {"disabled", disabled}}));
}

}  // namespace

void h_disable_user(Call& call) { set_disabled(call, true); }
void h_enable_user(Call& call) { set_disabled(call, false); }

void h_change_password(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string current = get_string(*o, "current_password", &err),
              next = get_string(*o, "new_password", &err);
  if (!err.empty()) return call.error(400, err);
  if (current.empty()) return call.error(400, "member 'current_password' is missing");
  if (next.size() < 12) return call.error(400, "new_password is shorter than 12 characters");
  // The session this request came with stays; the user's others end.
  std::string keep =
      call.req.header("authorization").empty() ? call.req.cookie("mm_session") : std::string();
  on_password_pool(call, [current, next, keep](Call& c) {
    auto st = c.store->change_password(c.principal, current, next, keep);
    if (!st.ok()) return c.error(st.error());
    c.json(200, "{\"password_changed\":true}");
  });
}

void h_reset_password(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string password = get_string(*o, "password", &err);
  if (!err.empty()) return call.error(400, err);
  if (password.size() < 12) return call.error(400, "password is shorter than 12 characters");
  std::string id = call.param("id");
  on_password_pool(call, [id, password](Call& c) {
    auto st = c.store->reset_password(c.principal, id, password);
    if (!st.ok()) return c.error(st.error());
    c.json(200, to_text(json::object{{"user_id", id}, {"password_reset", true}}));
  });
}

}  // namespace mimamori::server
