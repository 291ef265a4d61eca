// Customers, sites, devices, enrollment codes.

#include "api/json_body.h"

namespace mimamori::server {

void h_list_customers(Call& call) {
  const int64_t limit = query_int(call.req, "limit", 100),
                offset = query_int(call.req, "offset", 0);
  auto c = call.store->list_customers(call.principal, limit, offset, call.req.query_param("q"));
  if (!c.ok()) return call.error(c.error());
  call.json(200, list_json(*c, limit, offset));
}

void h_create_customer(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string name = get_string(*o, "name", &err);
  std::string prefecture = get_string(*o, "prefecture", &err);
  if (!err.empty()) return call.error(400, err);
  auto c = call.store->create_customer(call.principal, name, prefecture);
  if (!c.ok()) return call.error(c.error());
  call.json(201, to_text(to_json(*c)));
}

void h_get_customer(Call& call) {
  auto c = call.store->get_customer(call.principal, call.param("id"));
  if (!c.ok()) return call.error(c.error());
  call.json(200, to_text(to_json(*c)));
}

void h_patch_customer(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  for (const auto& [key, value] : *o) {
    if (key != "prefecture") {
      return call.error(400, fmt::format("member '{}' cannot be changed (only 'prefecture')",
                                         std::string_view(key)));
    }
  }
  if (!o->contains("prefecture")) return call.error(400, "member 'prefecture' is missing");
  std::string err;
  std::string prefecture = get_string(*o, "prefecture", &err);
  if (!err.empty()) return call.error(400, err);
  auto c = call.store->set_customer_prefecture(call.principal, call.param("id"), prefecture);
  if (!c.ok()) return call.error(c.error());
  call.json(200, to_text(to_json(*c)));
}

void h_list_sites(Call& call) {
  auto s = call.store->list_sites(call.principal, call.param("id"));
  if (!s.ok()) return call.error(s.error());
  call.json(200, list_json(*s));
}

void h_create_site(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string name = get_string(*o, "name", &err);
  if (!err.empty()) return call.error(400, err);
  auto s = call.store->create_site(call.principal, call.param("id"), name);
  if (!s.ok()) return call.error(s.error());
  call.json(201, to_text(to_json(*s)));
}

void h_create_enrollment_code(Call& call) {
  auto o = read_json_object(call);
  if (!o) return;
  std::string err;
  std::string site = get_string(*o, "site_id", &err);
  int64_t ttl = get_int(*o, "ttl_s", 0, &err);
  if (!err.empty()) return call.error(400, err);
  auto c = call.store->create_enrollment_code(call.principal, call.param("id"), site, ttl);
  if (!c.ok()) return call.error(c.error());
  json::object r{{"code", c->code},
                 {"customer_id", c->customer_id},
                 {"site_id", c->site_id},
                 {"expires_at", jtime(c->expires_at)}};
  call.json(201, to_text(r));
}

void h_list_devices(Call& call) {
  const int64_t limit = query_int(call.req, "limit", 100),
                offset = query_int(call.req, "offset", 0);
  auto d =
      call.store->list_devices(call.principal, call.req.query_param("customer_id"), limit, offset);
  if (!d.ok()) return call.error(d.error());
  call.json(200, list_json(*d, limit, offset));
}

void h_get_device(Call& call) {
  auto d = call.store->get_device(call.principal, call.param("id"));
  if (!d.ok()) return call.error(d.error());
  call.json(200, to_text(to_json(*d)));
}

void h_revoke_device(Call& call) {
  auto st = call.store->revoke_device(call.principal, call.param("id"));
  if (!st.ok()) return call.error(st.error());
  call.json(200, "{\"status\":\"revoked\"}");
}

}  // namespace mimamori::server
