// Login, logout, me, TOTP, API tokens, users.

#include "api/json_body.h"
#include "mimamori/core/log.h"

namespace mimamori::server {

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
  auto s = call.store->login(email, password, totp, call.req.remote_ip);
  if (!s.ok()) {
    // The e-mail is the client's text: the logger escapes it, so it cannot forge a line.
    spdlog::warn("login refused for '{}' from {}: {}", email, call.req.remote_ip,
                 s.error().message);
    if (s.error().code == 429) {
      return call.json(429, to_text(json::object{{"error", s.error().message}}),
                       {{"Retry-After", "60"}});
    }
    return call.error(s.error());
  }
  json::object r;
  r["user"] = to_json(s->user);
  r["csrf_token"] = s->csrf_token;
  // Secure always: the server speaks HTTPS; plain HTTP is for loopback tests only.
  std::string cookie = fmt::format(
      "mm_session={}; Path=/; HttpOnly; Secure; SameSite=Strict; "
      "Max-Age={}",
      s->token, call.store->options().session_ttl_s);
  call.json(200, to_text(r), {{"Set-Cookie", cookie}});
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

void h_totp_begin(Call& call) {
  if (!is_provider_role(call.principal.role)) {
    return call.error(403, "TOTP is for provider users");
  }
  auto s = call.store->totp_begin(call.principal);
  if (!s.ok()) return call.error(s.error());
  json::object r;
  r["secret"] = *s;
  r["otpauth_url"] =
      fmt::format("otpauth://totp/Mimamori:{}?secret={}&issuer=Mimamori", call.principal.name, *s);
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
  auto u = call.store->create_user(call.principal, email, name, password, *r, customer);
  if (!u.ok()) return call.error(u.error());
  call.json(201, to_text(to_json(*u)));
}

}  // namespace mimamori::server
