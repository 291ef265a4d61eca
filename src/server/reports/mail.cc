// The monthly report by e-mail: rendered once per customer-month and queued in the outbox with
// the PDF attached, to the customer's enabled e-mail channels.

#include <ctime>

#include "mimamori/core/text.h"
#include "reports/reports.h"
#include "secrets.h"
#include "store/sql.h"

namespace mimamori::server {
namespace {

struct Contact {
  std::string channel_id, kind, target;  // target as stored (sealed or not): copied as is
};

Result<std::vector<Contact>> contacts(SqlTx& tx, std::string_view customer_id) {
  auto r = tx.q(
      "SELECT id, kind, target FROM channels WHERE customer_id = $1 AND kind = 'email' AND "
      "enabled = 1 ORDER BY id",
      {sp(customer_id)});
  if (!r.ok()) return r.error();
  std::vector<Contact> out;
  for (size_t i = 0; i < r->size(); ++i) out.push_back({r->str(i, 0), r->str(i, 1), r->str(i, 2)});
  return out;
}

std::string subject(const MonthlyReportData& d) {
  return fmt::format("【見守り】{}年{}月の月次レポート ({})", d.month.year, d.month.month,
                     d.customer_name);
}

std::string body(const MonthlyReportData& d) {
  return fmt::format(
      "{} ご担当者様\n\n"
      "いつも見守りサービスをご利用いただき、ありがとうございます。\n"
      "{}年{}月の月次レポート (PDF) を添付いたします。\n"
      "今月の状態、検知の種類、対応した事案、監視機器の状態と来月に向けたアドバイスを"
      "まとめています。\n\n"
      "ご不明な点は、ポータルの「相談」からお問い合わせください。\n"
      "このメールの送付を止めるには、ポータルの設定で月次レポートのメールをオフにしてください。\n",
      d.customer_name, d.month.year, d.month.month);
}

// Queues the report's messages in `tx`; key_suffix makes a manual send a message of its own.
Status queue(SqlTx& tx, const MonthlyReportData& d, const std::string& pdf_base64,
             const std::vector<Contact>& to, std::string_view key_suffix, int64_t now) {
  const std::string name = fmt::format("mimamori-report-{}-{}.pdf", d.customer_id, d.month.key());
  for (const auto& c : to) {
    auto r = tx.q(
        "INSERT INTO outbox (id, customer_id, channel_id, kind, target, idempotency_key, subject, "
        "body, status, next_attempt_at, created_at, attachment_name, attachment_type, "
        "attachment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9, $10, "
        "'application/pdf', $11) ON CONFLICT (idempotency_key) DO NOTHING",
        {sp(random_id("msg")), sp(d.customer_id), sp(c.channel_id), sp(c.kind), sp(c.target),
         sp(fmt::format("report:{}:{}:{}{}", d.customer_id, d.month.key(), c.channel_id,
                        key_suffix)),
         sp(subject(d)), sp(body(d)), sp(now), sp(name), sp(pdf_base64)});
    if (!r.ok()) return r.error();
  }
  return {};
}

int jst_day_of_month(int64_t micros) {
  std::time_t t = static_cast<std::time_t>(micros / 1000000 + 9 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm.tm_mday;
}

}  // namespace

namespace {

// Mails one customer's report of `month` once: its contacts, the report rendered only when there
// is someone to send to, and the report_mailings row and the messages committed together
// (whoever inserts the row sends). `won`: this call marked it.
Status mail_one(Store& store, const std::string& id, const ReportMonth& month, int64_t now,
                bool& won, int64_t& contacts_out) {
  const Principal system = Principal::system("monthly-report");
  std::vector<Contact> to;
  if (auto s = store.transact(false,
                              [&](SqlTx& tx) -> Status {
                                auto c = contacts(tx, id);
                                if (!c.ok()) return c.error();
                                to = std::move(*c);
                                return {};
                              });
      !s.ok()) {
    return s;
  }
  contacts_out = static_cast<int64_t>(to.size());
  // Rendering only for customers with someone to send to; the others are marked done too.
  std::optional<MonthlyReportData> data;
  std::string pdf;
  if (!to.empty()) {
    auto d = gather_monthly_report(store, system, id, month);
    if (!d.ok()) return d.error();
    d->generated_at = now;
    pdf = core::base64(render_monthly_report(*d));
    data = std::move(*d);
  }
  won = false;
  return store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "INSERT INTO report_mailings (customer_id, month, messages, created_at) VALUES ($1, $2, "
        "$3, $4) ON CONFLICT (customer_id, month) DO NOTHING RETURNING customer_id",
        {sp(id), sp(month.key()), sp(static_cast<int64_t>(to.size())), sp(now)});
    if (!r.ok()) return r.error();
    if (r->empty()) return {};
    won = true;
    if (!data) return {};
    return queue(tx, *data, pdf, to, "", now);
  });
}

}  // namespace

Result<int64_t> mail_monthly_reports(Store& store, int64_t now, int64_t max_customers,
                                     bool any_day) {
  if (!any_day && jst_day_of_month(now) != 1) return int64_t{0};
  const ReportMonth month = previous_month(now);
  std::vector<std::string> due;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT c.id FROM customers c WHERE c.report_mail = 1 AND NOT EXISTS (SELECT 1 FROM "
        "report_mailings m WHERE m.customer_id = c.id AND m.month = $1) ORDER BY c.id LIMIT $2",
        {sp(month.key()), sp(max_customers)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) due.push_back(r->str(i, 0));
    return {};
  });
  if (!st.ok()) return st.error();
  int64_t mailed = 0;
  for (const auto& id : due) {
    bool won = false;
    int64_t contacts_n = 0;
    if (auto w = mail_one(store, id, month, now, won, contacts_n); !w.ok()) return w.error();
    if (won && contacts_n > 0) ++mailed;
  }
  return mailed;
}

Result<std::vector<ReportMailing>> mail_reports_of_month(Store& store, std::string_view month_text,
                                                         std::string_view customer_id, bool dry_run,
                                                         int64_t now) {
  auto parsed = parse_report_month(month_text);
  if (!parsed.ok()) return parsed.error();
  const ReportMonth month = *parsed;
  // Mailed once: a month still under way would be marked done with half its report.
  if (month.end() > now) {
    return core::make_error_code(
        400, "month '{}' has not ended yet (JST): its report is mailed from the 1st after it",
        month.key());
  }
  std::vector<ReportMailing> out;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(
        "SELECT c.id, c.name, c.report_mail, (SELECT COUNT(*) FROM report_mailings m WHERE "
        "m.customer_id = c.id AND m.month = $1), (SELECT COUNT(*) FROM channels h WHERE "
        "h.customer_id = c.id AND h.kind = 'email' AND h.enabled = 1) FROM customers c WHERE ($2 "
        "= '' OR c.id = $2) ORDER BY c.id",
        {sp(month.key()), sp(customer_id)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      ReportMailing m;
      m.customer_id = r->str(i, 0);
      m.customer_name = r->str(i, 1);
      m.report_mail = r->i64(i, 2) != 0;
      m.already = r->i64(i, 3) > 0;
      m.contacts = r->i64(i, 4);
      out.push_back(std::move(m));
    }
    return {};
  });
  if (!st.ok()) return st.error();
  if (!customer_id.empty() && out.empty()) {
    return core::make_error_code(404, "customer '{}' not found", customer_id);
  }
  if (dry_run) return out;
  for (auto& m : out) {
    if (!m.report_mail || m.already) continue;
    bool won = false;
    if (auto w = mail_one(store, m.customer_id, month, now, won, m.contacts); !w.ok()) {
      return w.error();
    }
    m.queued = won && m.contacts > 0;
    m.already = !won;  // another mailer got there first
  }
  return out;
}

Result<int64_t> send_monthly_report(Store& store, const Principal& p, std::string_view customer_id,
                                    const ReportMonth& month, int64_t now) {
  if (auto a = store.allow(p, customer_id, true, "report.send", "customer", customer_id); !a.ok()) {
    return a.error();
  }
  auto d = gather_monthly_report(store, p, customer_id, month);
  if (!d.ok()) return d.error();
  d->generated_at = now;
  const std::string pdf = core::base64(render_monthly_report(*d));
  int64_t n = 0;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto to = contacts(tx, customer_id);
    if (!to.ok()) return to.error();
    n = static_cast<int64_t>(to->size());
    if (auto q = queue(tx, *d, pdf, *to, fmt::format(":manual:{}", random_id("s")), now); !q.ok()) {
      return q;
    }
    return store.audit_in(tx, p, "report.send", "customer", customer_id, customer_id, {},
                          fmt::format("{{\"month\":\"{}\",\"messages\":{}}}", month.key(), n),
                          "ok");
  });
  if (!st.ok()) return st.error();
  return n;
}

Result<bool> report_mail_enabled(Store& store, const Principal& p, std::string_view customer_id) {
  if (auto a = store.allow(p, customer_id, false, "report.settings", "customer", customer_id);
      !a.ok()) {
    return a.error();
  }
  std::optional<bool> on;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q("SELECT report_mail FROM customers WHERE id = $1", {sp(customer_id)});
    if (!r.ok()) return r.error();
    if (!r->empty()) on = r->i64(0, 0) != 0;
    return {};
  });
  if (!st.ok()) return st.error();
  if (!on) return core::make_error_code(404, "customer '{}' not found", customer_id);
  return *on;
}

Status set_report_mail(Store& store, const Principal& p, std::string_view customer_id,
                       bool enabled) {
  if (auto a = store.allow(p, customer_id, true, "report.settings", "customer", customer_id);
      !a.ok()) {
    return a;
  }
  bool found = false;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto c = tx.q("SELECT id FROM customers WHERE id = $1", {sp(customer_id)});
    if (!c.ok()) return c.error();
    if (c->empty()) return {};
    found = true;
    auto r = tx.q("UPDATE customers SET report_mail = $1 WHERE id = $2",
                  {sp(int64_t{enabled ? 1 : 0}), sp(customer_id)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "report.settings", "customer", customer_id, customer_id, {},
                          fmt::format("{{\"mail\":{}}}", enabled ? "true" : "false"), "ok");
  });
  if (!st.ok()) return st;
  if (!found) return core::make_error_code(404, "customer '{}' not found", customer_id);
  return {};
}

}  // namespace mimamori::server
