// IPA statistics. Every exported value is either a count or taken from a fixed list below (an
// unknown stored value becomes "other"), so nothing a customer or device wrote can reach the
// export; cells of fewer than kIpaMinCustomers customers are dropped and only counted.

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "mimamori/core/clock.h"
#include "mimamori/server/ipa_stats.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

constexpr int64_t kDay = 86400LL * 1000000;

// The taxonomy: the alert catalogue's categories (triage/messages.ja.yaml), which rule
// classtypes, Sigma tags and the detectors are mapped into at triage.
const std::set<std::string_view>& categories() {
  static const std::set<std::string_view> k = {"monitoring_stopped",
                                               "ransomware",
                                               "credential_theft",
                                               "c2",
                                               "exploit",
                                               "malware",
                                               "scan",
                                               "policy",
                                               "other"};
  return k;
}

std::string fixed(std::string_view v, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == v) return std::string(v);
  }
  return "other";
}

Result<int64_t> day_start(std::string_view d, std::string_view field) {
  auto t = core::parse_time(std::string(d) + "T00:00:00+09:00");
  // A date that does not exist (2026-04-31) reads back as another day.
  if (d.size() != 10 || !t.ok() || core::format_local(*t).substr(0, 10) != d) {
    return core::make_error_code(400, "{} '{}' is not a date YYYY-MM-DD", field, d);
  }
  return t->micros;
}

std::string period_of(int64_t micros, bool quarter) {
  const std::string local = core::format_local(core::Timestamp{micros});
  if (!quarter) return local.substr(0, 7);
  const int m = std::stoi(local.substr(5, 2));
  return fmt::format("{}-Q{}", local.substr(0, 4), (m - 1) / 3 + 1);
}

}  // namespace

Result<IpaStatistics> ipa_statistics(Store& store, const Principal& p, const IpaQuery& q) {
  if (!p.is_system && (p.is_device || p.role != Role::kProviderAdmin)) {
    (void)store.audit(p, "stats.ipa", "statistics", "ipa", p.customer_id, {}, {}, "denied");
    return core::make_error_code(403, "IPA statistics are for the provider_admin");
  }
  if (q.period != "month" && q.period != "quarter") {
    return core::make_error_code(400, "period '{}' is neither month nor quarter", q.period);
  }
  auto from = day_start(q.from, "from");
  if (!from.ok()) return from.error();
  auto to = day_start(q.to, "to");
  if (!to.ok()) return to.error();
  if (*to < *from) return core::make_error_code(400, "to '{}' is before from '{}'", q.to, q.from);
  const int64_t end = *to + kDay;

  struct Acc {
    int64_t alerts = 0, detections = 0;
    std::set<std::string> customers;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, Acc> acc;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    // The service type of each customer: its latest active contract's plan (none: "none").
    std::map<std::string, std::string> service;
    auto c = tx.q(
        "SELECT contracts.customer_id, plans.body FROM contracts JOIN plans ON plans.id = "
        "contracts.plan_id WHERE contracts.status = 'active' ORDER BY contracts.created_at");
    if (!c.ok()) return c.error();
    for (size_t i = 0; i < c->size(); ++i) {
      boost::system::error_code ec;
      auto v = boost::json::parse(c->str(i, 1), ec);
      std::string type = "other";
      if (!ec && v.is_object()) {
        if (auto* t = v.as_object().if_contains("type"); t && t->is_string()) {
          type = fixed(t->as_string(), {"network", "endpoint", "combined"});
        }
      }
      service[c->str(i, 0)] = type;
    }
    auto r = tx.q(
        "SELECT customer_id, category, severity, source, first_seen, count FROM alerts WHERE "
        "first_seen >= $1 AND first_seen < $2 AND suppressed = 0",
        {sp(*from), sp(end)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      const std::string cat = categories().count(r->str(i, 1)) ? r->str(i, 1) : "other";
      auto it = service.find(r->str(i, 0));
      auto& a = acc[{period_of(r->i64(i, 4), q.period == "quarter"), cat,
                     fixed(r->str(i, 2), {"critical", "high", "medium", "low", "info"}),
                     r->str(i, 3) == "host" ? "endpoint" : fixed(r->str(i, 3), {"network"}),
                     it == service.end() ? "none" : it->second}];
      ++a.alerts;
      a.detections += r->i64(i, 5);
      a.customers.insert(r->str(i, 0));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  IpaStatistics out;
  out.query = q;
  for (auto& [k, a] : acc) {
    if (static_cast<int64_t>(a.customers.size()) < kIpaMinCustomers) {
      ++out.suppressed_cells;
      out.suppressed_detections += a.detections;
      continue;
    }
    out.cells.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k),
                         std::get<4>(k), a.alerts, a.detections,
                         static_cast<int64_t>(a.customers.size())});
  }
  (void)store.audit(
      p, "stats.ipa", "statistics", "ipa", {}, {},
      fmt::format("{{\"from\":\"{}\",\"to\":\"{}\",\"cells\":{}}}", q.from, q.to, out.cells.size()),
      "ok");
  return out;
}

std::string ipa_csv(const IpaStatistics& s) {
  std::string out = "period,category,severity,source,service_type,alerts,detections,customers\n";
  for (const auto& c : s.cells) {
    out += fmt::format("{},{},{},{},{},{},{},{}\n", c.period, c.category, c.severity, c.source,
                       c.service_type, c.alerts, c.detections, c.customers);
  }
  return out;
}

std::string ipa_json(const IpaStatistics& s) {
  boost::json::array cells;
  for (const auto& c : s.cells) {
    cells.push_back(boost::json::object{{"period", c.period},
                                        {"category", c.category},
                                        {"severity", c.severity},
                                        {"source", c.source},
                                        {"service_type", c.service_type},
                                        {"alerts", c.alerts},
                                        {"detections", c.detections},
                                        {"customers", c.customers}});
  }
  return boost::json::serialize(
      boost::json::object{{"from", s.query.from},
                          {"to", s.query.to},
                          {"period", s.query.period},
                          {"min_customers_per_cell", kIpaMinCustomers},
                          {"suppressed_cells", s.suppressed_cells},
                          {"suppressed_detections", s.suppressed_detections},
                          {"cells", std::move(cells)}});
}

}  // namespace mimamori::server
