// Threat indicators: addresses, CIDR blocks and domains that the provider's analysts maintain
// for every device. Provider-wide (no tenant): only provider roles read them, only
// provider_admin and analyst change them, every change is audited, and a removal keeps the
// row (removed_at) so that the record of what devices were told survives.

#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/server/store.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kColumns =
    "id, kind, value, source, reason, created_by, created_at, expires_at, removed_at";

ThreatIndicator row_indicator(const SqlRows& r, size_t i) {
  ThreatIndicator t;
  t.id = r.str(i, 0);
  t.kind = r.str(i, 1);
  t.value = r.str(i, 2);
  t.source = r.str(i, 3);
  t.reason = r.str(i, 4);
  t.created_by = r.str(i, 5);
  t.created_at = r.i64(i, 6);
  t.expires_at = r.i64(i, 7);
  t.removed_at = r.i64(i, 8);
  return t;
}

std::string indicator_json(const ThreatIndicator& t) {
  std::string j = "{\"kind\":";
  core::append_json_string(j, t.kind);
  j += ",\"value\":";
  core::append_json_string(j, t.value);
  j += ",\"source\":";
  core::append_json_string(j, t.source);
  j += ",\"reason\":";
  core::append_json_string(j, t.reason);
  j += fmt::format(",\"expires_at\":{},\"removed_at\":{}}}", t.expires_at, t.removed_at);
  return j;
}

}  // namespace

Result<ThreatIndicator> Store::create_threat(const Principal& p, ThreatIndicator t) {
  if (auto a = allow(p, {}, true, "threat.create", "threat", t.value); !a.ok()) return a.error();
  std::string why;
  const std::string given = t.value;
  if (!normalise_indicator(given, t.kind, t.value, why)) {
    return core::make_error_code(400, "threat indicator: {}", why);
  }
  if (t.source.empty()) {
    return core::make_error_code(400, "a threat indicator needs a source (feed, report, case)");
  }
  const int64_t now = core::now().micros;
  if (t.expires_at != 0 && t.expires_at <= now) {
    return core::make_error_code(400, "expires_at is in the past");
  }
  t.id = random_id("thr");
  t.created_by = p.name;
  t.created_at = now;
  t.removed_at = 0;
  auto st = transact(true, [&](SqlTx& tx) -> Status {
    // One live row per value: a second add of the same indicator is a conflict, not a copy.
    auto dup = tx.q(
        "SELECT id FROM threat_indicators WHERE value = $1 AND removed_at = 0 AND (expires_at = 0 "
        "OR expires_at > $2)",
        {sp(t.value), sp(now)});
    if (!dup.ok()) return dup.error();
    if (!dup->empty()) {
      return core::make_error_code(409, "threat indicator '{}' is already listed as {}", t.value,
                                   dup->str(0, 0));
    }
    auto r = tx.q(
        "INSERT INTO threat_indicators (id, kind, value, source, reason, created_by, created_at, "
        "expires_at, removed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
        {sp(t.id), sp(t.kind), sp(t.value), sp(t.source), sp(t.reason), sp(t.created_by), sp(now),
         sp(t.expires_at)});
    if (!r.ok()) return r.error();
    return audit_in(tx, p, "threat.create", "threat", t.id, {}, {}, indicator_json(t), "ok");
  });
  if (!st.ok()) return st.error();
  return t;
}

Result<std::vector<ThreatIndicator>> Store::list_threats(const Principal& p, bool all) {
  if (auto a = allow(p, {}, false, "threat.list", "threat", "*"); !a.ok()) return a.error();
  std::vector<ThreatIndicator> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM threat_indicators WHERE $1 = 1 OR (removed_at = 0 "
                              "AND (expires_at = 0 OR expires_at > $2)) ORDER BY created_at, id",
                              kColumns),
                  {sp(int64_t{all ? 1 : 0}), sp(core::now().micros)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(row_indicator(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

Status Store::remove_threat(const Principal& p, std::string_view id) {
  if (auto a = allow(p, {}, true, "threat.remove", "threat", id); !a.ok()) return a;
  return transact(true, [&](SqlTx& tx) -> Status {
    auto r =
        tx.q(fmt::format("SELECT {} FROM threat_indicators WHERE id = $1", kColumns), {sp(id)});
    if (!r.ok()) return r.error();
    if (r->empty()) return core::make_error_code(404, "threat indicator '{}' not found", id);
    ThreatIndicator before = row_indicator(*r, 0);
    if (before.removed_at != 0) {
      return core::make_error_code(409, "threat indicator '{}' was already removed", id);
    }
    ThreatIndicator after = before;
    after.removed_at = core::now().micros;
    auto u = tx.q("UPDATE threat_indicators SET removed_at = $2 WHERE id = $1",
                  {sp(id), sp(after.removed_at)});
    if (!u.ok()) return u.error();
    return audit_in(tx, p, "threat.remove", "threat", std::string(id), {}, indicator_json(before),
                    indicator_json(after), "ok");
  });
}

Result<std::vector<ThreatIndicator>> Store::live_threats(int64_t now) {
  std::vector<ThreatIndicator> out;
  auto st = transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM threat_indicators WHERE removed_at = 0 AND "
                              "(expires_at = 0 OR expires_at > $1) ORDER BY kind, value",
                              kColumns),
                  {sp(now)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) out.push_back(row_indicator(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace mimamori::server
