// The SOC overview's numbers: per customer, its open incidents (and how many of them high or
// critical) and its active devices (and how many silent), counted by the database in three
// grouped queries, so that the screen no longer downloads every open incident and device.

#include <unordered_map>

#include "store/sql.h"
#include "triage/triage.h"

namespace mimamori::server {

Result<std::vector<CustomerOverview>> overview_summary(Store& store, const Principal& p) {
  if (p.is_device || (!p.is_system && !is_provider_role(p.role))) {
    (void)store.audit(p, "overview.read", "overview", "", p.customer_id, {}, {}, "denied");
    return core::make_error_code(403, "the SOC overview is for provider roles");
  }
  std::vector<CustomerOverview> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT id, name FROM customers ORDER BY name, id");
    if (!c.ok()) return c.error();
    std::unordered_map<std::string, size_t> at;
    out.reserve(c->size());
    for (size_t i = 0; i < c->size(); ++i) {
      at.emplace(c->str(i, 0), out.size());
      out.push_back(CustomerOverview{c->str(i, 0), c->str(i, 1)});
    }
    // Not closed: the statuses listed, so that the queue's index on status answers it.
    auto x = tx.q(
        "SELECT customer_id, COUNT(*), SUM(CASE WHEN severity_rank >= 3 THEN 1 ELSE 0 END) FROM "
        "incidents WHERE status IN ('open', 'acknowledged', 'in_progress', 'resolved') GROUP BY "
        "customer_id");
    if (!x.ok()) return x.error();
    for (size_t i = 0; i < x->size(); ++i) {
      if (auto it = at.find(x->str(i, 0)); it != at.end()) {
        out[it->second].open = x->i64(i, 1);
        out[it->second].open_high = x->i64(i, 2);
      }
    }
    auto d = tx.q(
        "SELECT customer_id, COUNT(*), SUM(CASE WHEN monitoring_stopped <> 0 THEN 1 ELSE 0 END) "
        "FROM devices WHERE status = 'active' GROUP BY customer_id");
    if (!d.ok()) return d.error();
    for (size_t i = 0; i < d->size(); ++i) {
      if (auto it = at.find(d->str(i, 0)); it != at.end()) {
        out[it->second].devices = d->i64(i, 1);
        out[it->second].silent = d->i64(i, 2);
      }
    }
    return {};
  });
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace mimamori::server
