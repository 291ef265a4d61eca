// Customers, sites, devices: enrollment codes, enrollment, device tokens, heartbeats.

#include "dispatch/dispatch.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/server/store.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

constexpr int64_t kDeviceCacheMicros = 5'000'000;
constexpr std::string_view kDeviceColumns =
    "id, customer_id, site_id, kind, hostname, version, status, enrolled_at, last_seen, "
    "acked_through, heartbeat_limit_s, monitoring_stopped";

Device device_from(const SqlRows& r, size_t i) {
  Device d;
  d.id = r.str(i, 0);
  d.customer_id = r.str(i, 1);
  d.site_id = r.str(i, 2);
  d.kind = r.str(i, 3);
  d.hostname = r.str(i, 4);
  d.version = r.str(i, 5);
  d.status = r.str(i, 6);
  d.enrolled_at = r.i64(i, 7);
  d.last_seen = r.i64(i, 8);
  d.acked_through = r.i64(i, 9);
  d.heartbeat_limit_s = r.i64(i, 10);
  d.monitoring_stopped = r.i64(i, 11) != 0;
  return d;
}

std::string name_json(std::string_view id, std::string_view name) {
  std::string j = "{\"id\":";
  core::append_json_string(j, id);
  j += ",\"name\":";
  core::append_json_string(j, name);
  j += '}';
  return j;
}

Status valid_name(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > 200) {
    return core::make_error_code(400, "{} name must be 1..200 bytes, got {}", what, name.size());
  }
  return {};
}

}  // namespace

Result<Customer> Store::create_customer(const Principal& p, std::string_view name,
                                        std::string_view prefecture) {
  if (!p.is_system && p.role != Role::kProviderAdmin) {
    (void)audit(p, "customer.create", "customer", name, {}, {}, {}, "denied");
    return core::make_error_code(403, "only a provider_admin creates customers");
  }
  if (auto st = valid_name("customer", name); !st.ok()) return st.error();
  if (!prefecture.empty() && !is_prefecture(prefecture)) {
    return core::make_error_code(
        400, "member 'prefecture': '{}' is not one of the 47 prefectures (e.g. 東京都)",
        prefecture);
  }
  Customer c{random_id("cus"), std::string(name), core::now().micros, std::string(prefecture)};
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto prov = tx.q("SELECT id FROM providers");
    if (!prov.ok()) return prov.error();
    if (prov->empty()) {
      return core::make_error_code(409, "the provider is not initialised (mimamori admin init)");
    }
    auto r = tx.q(
        "INSERT INTO customers (id, provider_id, name, created_at, prefecture) VALUES ($1, "
        "$2, $3, $4, $5)",
        {sp(c.id), sp(prov->str(0, 0)), sp(c.name), sp(c.created_at), sp(c.prefecture)});
    if (!r.ok()) return r.error();
    // Every customer starts with one site, so that enrollment works out of the box.
    r = tx.q("INSERT INTO sites (id, customer_id, name, created_at) VALUES ($1, $2, $3, $4)",
             {sp(random_id("sit")), sp(c.id), sp("本社"), sp(c.created_at)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "customer.create", "customer", c.id, c.id, {}, name_json(c.id, c.name),
                    "ok");
  });
  if (!st.ok()) return st.error();
  return c;
}

Result<std::vector<Customer>> Store::list_customers(const Principal& p, int64_t limit,
                                                    int64_t offset, std::string_view q) {
  if (p.is_device) return core::make_error_code(403, "devices cannot list customers");
  // Only the filters given go into the SQL, so that the page is read in the order of the
  // index customers_name (a condition like ($1 = '' OR id = $1) keeps the planners from it).
  std::string where;
  std::vector<SqlParam> params;
  if (!is_provider_role(p.role) && !p.is_system) {
    params.push_back(sp(p.customer_id));
    where = " WHERE id = $1";
  }
  if (!q.empty()) {
    // A substring of the name (ASCII letters in any case) or of the id; % _ \ match themselves.
    std::string pattern = "%";
    for (char ch : q) {
      if (ch == '%' || ch == '_' || ch == '\\') pattern += '\\';
      pattern += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    }
    pattern += '%';
    params.push_back(sp(pattern));
    where += fmt::format("{} (LOWER(name) LIKE ${} ESCAPE '\\' OR id LIKE ${} ESCAPE '\\')",
                         where.empty() ? " WHERE" : " AND", params.size(), params.size());
  }
  std::vector<Customer> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.query("SELECT id, name, created_at, prefecture FROM customers" + where +
                          " ORDER BY name, id" + page_sql(limit, offset),
                      params);
    if (!r.ok()) return r.error();
    out.reserve(r->size());
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(Customer{r->str(i, 0), r->str(i, 1), r->i64(i, 2), r->str(i, 3)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Customer> Store::get_customer(const Principal& p, std::string_view id) {
  std::optional<Customer> c;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT id, name, created_at, prefecture FROM customers WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) c = Customer{r->str(0, 0), r->str(0, 1), r->i64(0, 2), r->str(0, 3)};
    return {};
  });
  if (!st.ok()) return st.error();
  if (auto a = allow(p, c ? c->id : std::string(id), false, "customer.read", "customer", id);
      !a.ok()) {
    return a.error();
  }
  if (!c) return core::make_error_code(404, "customer '{}' not found", id);
  return *c;
}

Result<Customer> Store::set_customer_prefecture(const Principal& p, std::string_view id,
                                                std::string_view prefecture) {
  if (!p.is_system && p.role != Role::kProviderAdmin) {
    // A customer role must not learn whether another customer exists: 404 (audited by allow).
    if (!is_provider_role(p.role) && id != p.customer_id) {
      return allow(p, id, true, "customer.prefecture", "customer", id).error();
    }
    (void)audit(p, "customer.prefecture", "customer", id, {}, {}, {}, "denied");
    return core::make_error_code(403, "only a provider_admin sets a customer's prefecture");
  }
  if (!prefecture.empty() && !is_prefecture(prefecture)) {
    return core::make_error_code(
        400, "member 'prefecture': '{}' is not one of the 47 prefectures (e.g. 東京都)",
        prefecture);
  }
  std::optional<Customer> c;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT id, name, created_at, prefecture FROM customers WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return core::make_error_code(404, "customer '{}' not found", id);
    c = Customer{r->str(0, 0), r->str(0, 1), r->i64(0, 2), std::string(prefecture)};
    const std::string before = r->str(0, 3);
    if (auto u =
            tx.q("UPDATE customers SET prefecture = $2 WHERE id = $1", {sp(id), sp(prefecture)});
        !u.ok()) {
      return u.error();
    }
    std::string b = "{\"prefecture\":", a = b;
    core::append_json_string(b, before);
    core::append_json_string(a, prefecture);
    return audit_in(tx, p, "customer.prefecture", "customer", c->id, c->id, b + "}", a + "}", "ok");
  });
  if (!st.ok()) return st.error();
  return *c;
}

Result<Site> Store::create_site(const Principal& p, std::string_view customer_id,
                                std::string_view name) {
  if (auto a = allow(p, customer_id, true, "site.create", "customer", customer_id); !a.ok()) {
    return a.error();
  }
  if (auto st = valid_name("site", name); !st.ok()) return st.error();
  Site s{random_id("sit"), std::string(customer_id), std::string(name), core::now().micros};
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT id FROM customers WHERE id = $1", {sp(customer_id)});
    if (!c.ok()) return c.error();
    if (c->empty()) return core::make_error_code(404, "customer '{}' not found", customer_id);
    auto r = tx.q("INSERT INTO sites (id, customer_id, name, created_at) VALUES ($1, $2, $3, $4)",
                  {sp(s.id), sp(s.customer_id), sp(s.name), sp(s.created_at)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "site.create", "site", s.id, s.customer_id, {}, name_json(s.id, s.name),
                    "ok");
  });
  if (!st.ok()) return st.error();
  return s;
}

Result<std::vector<Site>> Store::list_sites(const Principal& p, std::string_view customer_id) {
  if (auto a = allow(p, customer_id, false, "site.list", "customer", customer_id); !a.ok()) {
    return a.error();
  }
  std::vector<Site> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT id, customer_id, name, created_at FROM sites WHERE customer_id = $1 ORDER BY "
        "created_at, id",
        {sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      out.push_back(Site{r->str(i, 0), r->str(i, 1), r->str(i, 2), r->i64(i, 3)});
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<EnrollmentCode> Store::create_enrollment_code(const Principal& p,
                                                     std::string_view customer_id,
                                                     std::string_view site_id, int64_t ttl_s) {
  if (auto a = allow(p, customer_id, true, "enrollment_code.create", "customer", customer_id);
      !a.ok()) {
    return a.error();
  }
  if (ttl_s <= 0) ttl_s = options_.enrollment_ttl_s;
  if (ttl_s > 30 * 24 * 3600) {
    return core::make_error_code(400, "an enrollment code lives at most 30 days, not {} s", ttl_s);
  }
  EnrollmentCode code;
  code.code = random_enrollment_code();
  code.customer_id = std::string(customer_id);
  const int64_t now = core::now().micros;
  code.expires_at = now + ttl_s * 1000000;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto s = tx.q(
        "SELECT id FROM sites WHERE customer_id = $1 AND ($2 = '' OR id = $2) ORDER BY "
        "created_at, id LIMIT 1",
        {sp(customer_id), sp(site_id)});
    if (!s.ok()) return s.error();
    if (s->empty()) {
      return core::make_error_code(404, "site '{}' of customer '{}' not found", site_id,
                                   customer_id);
    }
    code.site_id = s->str(0, 0);
    auto r = tx.q(
        "INSERT INTO enrollment_codes (code_hash, customer_id, site_id, created_by, created_at, "
        "expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        {sp(secret_hash(normalize_enrollment_code(code.code))), sp(customer_id), sp(code.site_id),
         sp(p.name), sp(now), sp(code.expires_at)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "enrollment_code.create", "site", code.site_id, customer_id, {},
                    fmt::format("{{\"expires_at\":{}}}", code.expires_at), "ok");
  });
  if (!st.ok()) return st.error();
  return code;
}

Result<Enrollment> Store::enroll(std::string_view code, std::string_view hostname,
                                 std::string_view kind, std::string_view version,
                                 std::string_view source_ip) {
  Principal who;
  who.name = fmt::format("enroll:{}", hostname);
  who.source_ip = std::string(source_ip);
  if (kind != "sensor" && kind != "agent") {
    return core::make_error_code(400, "kind must be 'sensor' or 'agent', got '{}'", kind);
  }
  if (hostname.empty() || hostname.size() > 255) {
    return core::make_error_code(400, "hostname must be 1..255 bytes");
  }
  const int64_t now = core::now().micros;
  Enrollment e;
  std::string secret = random_secret();
  e.device_id = random_id("dev");
  e.device_token = e.device_id + "." + secret;
  std::string denial;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT customer_id, site_id, expires_at, COALESCE(used_at, 0) FROM enrollment_codes "
        "WHERE code_hash = $1",
        {sp(secret_hash(normalize_enrollment_code(code)))});
    if (!r.ok()) return r.error();
    if (r->empty()) {
      denial = "unknown enrollment code";
    } else if (r->i64(0, 3) != 0) {
      denial = "enrollment code already used";
    } else if (r->i64(0, 2) <= now) {
      denial = "enrollment code expired";
    }
    if (!denial.empty()) {
      return audit_in(tx, who, "device.enroll", "enrollment_code", "-",
                      r->empty() ? "" : r->str(0, 0), {},
                      fmt::format("{{\"reason\":\"{}\"}}", denial), "denied");
    }
    e.customer_id = r->str(0, 0);
    e.site_id = r->str(0, 1);
    auto u = tx.q(
        "UPDATE enrollment_codes SET used_at = $2, device_id = $3 WHERE code_hash = $1 AND "
        "used_at IS NULL",
        {sp(secret_hash(normalize_enrollment_code(code))), sp(now), sp(e.device_id)});
    if (!u.ok()) return u.error();
    if (u->affected != 1) return core::make_error_code(403, "enrollment code already used");
    u = tx.q(
        "INSERT INTO devices (id, customer_id, site_id, kind, hostname, version, token_hash, "
        "status, enrolled_at, last_seen, heartbeat_limit_s) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "'active', $8, $8, $9)",
        {sp(e.device_id), sp(e.customer_id), sp(e.site_id), sp(kind), sp(hostname), sp(version),
         sp(secret_hash(secret)), sp(now), sp(options_.heartbeat_limit_s)});
    if (!u.ok()) return u.error();
    who.customer_id = e.customer_id;
    return audit_in(tx, who, "device.enroll", "device", e.device_id, e.customer_id, {},
                    name_json(e.device_id, hostname), "ok");
  });
  if (!st.ok()) return st.error();
  if (!denial.empty()) return core::make_error_code(403, "{}", denial);
  return e;
}

Result<Principal> Store::authenticate_device(std::string_view token) {
  auto dot = token.find('.');
  if (!token.starts_with("dev_") || dot == std::string_view::npos || dot + 1 >= token.size()) {
    return core::make_error_code(401, "the device token is malformed");
  }
  std::string id(token.substr(0, dot));
  std::string hash = secret_hash(token.substr(dot + 1));
  const int64_t now = core::now().micros;
  {
    std::lock_guard lock(device_cache_mu_);
    auto it = device_cache_.find(id);
    if (it != device_cache_.end() && now - it->second.fetched_at < kDeviceCacheMicros) {
      if (!equal_secret(it->second.token_hash, hash)) {
        return core::make_error_code(401, "the device token is unknown or revoked");
      }
      return it->second.principal;
    }
  }
  CachedDevice cd;
  bool found = false;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT customer_id, token_hash, kind FROM devices WHERE id = $1 AND status = 'active'",
        {sp(id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return {};
    found = true;
    cd.principal.name = id;
    cd.principal.is_device = true;
    cd.principal.customer_id = r->str(0, 0);
    cd.principal.user_id.clear();
    cd.principal.device_kind = r->str(0, 2);
    cd.token_hash = r->str(0, 1);
    cd.fetched_at = now;
    return {};
  });
  if (!st.ok()) return st.error();
  if (!found || !equal_secret(cd.token_hash, hash)) {
    return core::make_error_code(401, "the device token is unknown or revoked");
  }
  std::lock_guard lock(device_cache_mu_);
  if (device_cache_.size() > 100000) device_cache_.clear();
  device_cache_[id] = cd;
  return cd.principal;
}

Result<std::vector<Device>> Store::list_devices(const Principal& p, std::string_view customer_id,
                                                int64_t limit, int64_t offset) {
  if (!is_provider_role(p.role) && !p.is_system) {
    if (customer_id.empty()) customer_id = p.customer_id;
  }
  if (!customer_id.empty() || !is_provider_role(p.role)) {
    if (auto a = allow(p, customer_id, false, "device.list", "customer", customer_id); !a.ok()) {
      return a.error();
    }
  }
  // Read in the order of the index devices_order; the customer only when one is given.
  std::vector<Device> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    std::vector<SqlParam> params;
    if (!customer_id.empty()) params.push_back(sp(customer_id));
    auto r = tx.query(
        fmt::format("SELECT {} FROM devices{} ORDER BY customer_id, hostname, id{}", kDeviceColumns,
                    customer_id.empty() ? "" : " WHERE customer_id = $1", page_sql(limit, offset)),
        params);
    if (!r.ok()) return r.error();
    out.reserve(r->size());
    for (size_t i = 0; i < r->size(); ++i) out.push_back(device_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<Device> Store::get_device(const Principal& p, std::string_view id) {
  std::optional<Device> d;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM devices WHERE id = $1", kDeviceColumns), {sp(id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) d = device_from(*r, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  if (!d) {
    if (!is_provider_role(p.role)) (void)allow(p, "", false, "device.read", "device", id);
    return core::make_error_code(404, "device '{}' not found", id);
  }
  if (auto a = allow(p, d->customer_id, false, "device.read", "device", id); !a.ok()) {
    return a.error();
  }
  return *d;
}

Status Store::revoke_device(const Principal& p, std::string_view id) {
  auto d = get_device(p, id);
  if (!d.ok()) return d.error();
  if (auto a = allow(p, d->customer_id, true, "device.revoke", "device", id); !a.ok()) return a;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("UPDATE devices SET status = 'revoked' WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "device.revoke", "device", id, d->customer_id, "{\"status\":\"active\"}",
                    "{\"status\":\"revoked\"}", "ok");
  });
  if (!st.ok()) return st;
  std::lock_guard lock(device_cache_mu_);
  device_cache_.erase(std::string(id));
  return {};
}

Result<HeartbeatReply> Store::heartbeat(const Principal& device, std::string_view json_body) {
  const int64_t now = core::now().micros;
  HeartbeatReply reply;
  reply.server_time = now;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    // The configuration's version also moves with the threat list: every add, removal and
    // expiry of an indicator counts once, so the number only grows and devices pull again.
    auto r = tx.q(
        "SELECT monitoring_stopped, (SELECT config_version FROM customers WHERE id = "
        "devices.customer_id) + (SELECT COUNT(*) + COALESCE(SUM(CASE WHEN removed_at > 0 OR "
        "(expires_at > 0 AND expires_at <= $2) THEN 1 ELSE 0 END), 0) FROM threat_indicators) "
        "FROM devices WHERE id = $1",
        {sp(device.name), sp(now)});
    if (!r.ok()) return r.error();
    if (r->empty()) return core::make_error_code(401, "device '{}' is unknown", device.name);
    bool was_stopped = r->i64(0, 0) != 0;
    reply.config_version = r->i64(0, 1);
    auto u = tx.q(
        "UPDATE devices SET last_seen = $2, last_heartbeat = $3, monitoring_stopped = 0 WHERE id "
        "= $1",
        {sp(device.name), sp(now), sp(json_body)});
    if (!u.ok()) return u.error();
    if (was_stopped) {
      // The device is back: say so on its open 監視停止 incident; a person closes it.
      auto inc = tx.q(
          "SELECT id FROM incidents WHERE customer_id = $1 AND category = 'monitoring_stopped' "
          "AND host = $2 AND status <> 'closed'",
          {sp(device.customer_id), sp(device.name)});
      if (!inc.ok()) return inc.error();
      for (size_t i = 0; i < inc->size(); ++i) {
        auto t = tx.q(
            "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, text) "
            "VALUES ($1, $2, $3, $4, 'system', 'device_back', $5)",
            {sp(random_id("tl")), sp(inc->str(i, 0)), sp(device.customer_id), sp(now),
             sp("機器からの通信が再開しました")});
        if (!t.ok()) return t.error();
      }
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return reply;
}

}  // namespace mimamori::server
