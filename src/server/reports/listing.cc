// Which months of a customer have a monthly report: the complete JST months since its service
// began. The PDF itself is written on request (api_reports.cc); the report mail's record of
// the 1st (report_mailings) says which of them went out by e-mail.

#include <algorithm>
#include <map>

#include "mimamori/core/clock.h"
#include "reports/reports.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

/// Months since year 0, to count and step through months.
int64_t ordinal(const ReportMonth& m) { return int64_t{m.year} * 12 + (m.month - 1); }

ReportMonth from_ordinal(int64_t n) {
  return ReportMonth{static_cast<int>(n / 12), static_cast<int>(n % 12) + 1};
}

}  // namespace

Result<ReportListingPage> list_monthly_reports(Store& store, const Principal& p,
                                               std::string_view customer_id, int64_t now,
                                               int64_t limit, int64_t offset) {
  if (auto a = store.allow(p, customer_id, false, "report.list", "customer", customer_id);
      !a.ok()) {
    return a.error();
  }
  bool found = false;
  std::string began;                                                       // YYYY-MM-DD (JST)
  std::map<std::string, std::pair<int64_t, int64_t>, std::less<>> mailed;  // month → (at, n)
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT created_at FROM customers WHERE id = $1", {sp(customer_id)});
    if (!c.ok()) return c.error();
    if (c->empty()) return {};
    found = true;
    began = core::format_local(core::Timestamp{c->i64(0, 0)}).substr(0, 10);
    auto k =
        tx.q("SELECT MIN(start_date) FROM contracts WHERE customer_id = $1", {sp(customer_id)});
    if (!k.ok()) return k.error();
    if (!k->empty() && !k->is_null(0, 0) && k->str(0, 0).size() >= 7) {
      began = std::min(began, k->str(0, 0));
    }
    auto m = tx.q("SELECT month, created_at, messages FROM report_mailings WHERE customer_id = $1",
                  {sp(customer_id)});
    if (!m.ok()) return m.error();
    for (size_t i = 0; i < m->size(); ++i) mailed[m->str(i, 0)] = {m->i64(i, 1), m->i64(i, 2)};
    return {};
  });
  if (!st.ok()) return st.error();
  if (!found) return core::make_error_code(404, "customer '{}' not found", customer_id);

  auto first = parse_report_month(began.substr(0, 7));
  ReportMonth start = first.ok() ? *first : ReportMonth{2000, 1};
  const ReportMonth last = previous_month(now);
  ReportListingPage page;
  page.first_month = start.key();
  page.total = std::max<int64_t>(0, ordinal(last) - ordinal(start) + 1);
  for (int64_t i = std::max<int64_t>(0, offset); i < page.total && i < offset + limit; ++i) {
    ReportListing l;
    l.month = from_ordinal(ordinal(last) - i).key();
    if (auto it = mailed.find(l.month); it != mailed.end()) {
      l.mailed_at = it->second.first;
      l.messages = it->second.second;
    }
    page.items.push_back(std::move(l));
  }
  return page;
}

}  // namespace mimamori::server
