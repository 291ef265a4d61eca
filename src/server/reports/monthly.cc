// The monthly customer report: what a non-technical owner reads about the month — the state in
// plain words, incidents and what was done, detections by category, notable threats, device
// health, and advice. Texts come from the alert catalogue (triage/messages.ja.yaml) where they
// exist; values from devices are set as plain text by the pdf layer, never as markup.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "mimamori/core/clock.h"
#include "mimamori/pdf/document.h"
#include "reports/reports.h"
#include "store/sql.h"
#include "triage/catalogue.h"

namespace mimamori::server {
namespace {

constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kJstOffset = 9 * kHour;

int64_t month_start_utc(int year, int month) {
  return core::days_from_civil(year, static_cast<unsigned>(month), 1) * 24 * kHour - kJstOffset;
}

std::string_view status_ja(std::string_view s) {
  if (s == "open") return "対応待ち";
  if (s == "acknowledged") return "確認済み";
  if (s == "in_progress") return "対応中";
  if (s == "closed") return "完了";
  return s;
}

std::string count(int64_t n) {
  std::string d = std::to_string(n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += ',';
    out += d[i];
  }
  return out;
}

}  // namespace

std::string jst_minute(int64_t micros) {
  if (micros == 0) return "—";
  return core::format_local(core::Timestamp{micros}).substr(0, 16);
}

std::string_view severity_ja(std::string_view s) {
  if (s == "critical") return "緊急";
  if (s == "high") return "高";
  if (s == "medium") return "中";
  if (s == "low") return "低";
  return "情報";
}

int64_t ReportMonth::start() const { return month_start_utc(year, month); }
int64_t ReportMonth::end() const {
  return month == 12 ? month_start_utc(year + 1, 1) : month_start_utc(year, month + 1);
}
std::string ReportMonth::key() const { return fmt::format("{:04}-{:02}", year, month); }

Result<ReportMonth> parse_report_month(std::string_view t) {
  auto digits = [&](size_t from, size_t n) {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() == 7 && t[4] == '-') {
    ReportMonth m{digits(0, 4), digits(5, 2)};
    if (m.year >= 2000 && m.year <= 2999 && m.month >= 1 && m.month <= 12) return m;
  }
  return core::make_error_code(400, "month '{}' is not YYYY-MM (e.g. 2026-11)", t);
}

ReportMonth previous_month(int64_t micros) {
  const std::string local = core::format_local(core::Timestamp{micros});  // YYYY-MM-DD …
  ReportMonth m{std::stoi(local.substr(0, 4)), std::stoi(local.substr(5, 2))};
  if (--m.month == 0) {
    m.month = 12;
    --m.year;
  }
  return m;
}

Result<MonthlyReportData> gather_monthly_report(Store& store, const Principal& p,
                                                std::string_view customer_id,
                                                const ReportMonth& month) {
  auto customer = store.get_customer(p, customer_id);  // the tenant check
  if (!customer.ok()) return customer.error();
  MonthlyReportData d;
  d.customer_id = customer->id;
  d.customer_name = customer->name;
  d.month = month;
  d.generated_at = core::now().micros;
  const int64_t start = month.start(), end = month.end();
  const auto& cat = Catalogue::get();
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto c = tx.q(
        "SELECT category, COUNT(*), SUM(count) FROM alerts WHERE customer_id = $1 AND first_seen "
        ">= $2 AND first_seen < $3 AND suppressed = 0 GROUP BY category",
        {sp(customer_id), sp(start), sp(end)});
    if (!c.ok()) return c.error();
    for (size_t i = 0; i < c->size(); ++i) {
      d.categories.push_back(
          {c->str(i, 0), cat.find(c->str(i, 0)).title, c->i64(i, 1), c->i64(i, 2)});
    }
    std::sort(d.categories.begin(), d.categories.end(), [](const auto& a, const auto& b) {
      return a.detections != b.detections ? a.detections > b.detections : a.category < b.category;
    });
    auto s = tx.q(
        "SELECT COALESCE(SUM(count), 0) FROM alerts WHERE customer_id = $1 AND first_seen >= $2 "
        "AND first_seen < $3 AND suppressed <> 0",
        {sp(customer_id), sp(start), sp(end)});
    if (!s.ok()) return s.error();
    d.suppressed_detections = s->i64(0, 0);
    auto n = tx.q(
        "SELECT signature, category, MAX(severity_rank), SUM(count) FROM alerts WHERE "
        "customer_id = $1 AND first_seen >= $2 AND first_seen < $3 AND severity_rank >= 3 AND "
        "suppressed = 0 GROUP BY signature, category ORDER BY SUM(count) DESC, signature LIMIT 10",
        {sp(customer_id), sp(start), sp(end)});
    if (!n.ok()) return n.error();
    for (size_t i = 0; i < n->size(); ++i) {
      d.notable.push_back({n->str(i, 0), cat.find(n->str(i, 1)).title,
                           n->i64(i, 2) >= 4 ? "critical" : "high", n->i64(i, 3)});
    }
    // Incidents active during the month: opened before its end, not closed before its start.
    auto inc = tx.q(
        "SELECT title, category, severity, status, COALESCE(resolution, ''), created_at, "
        "closed_at, host FROM incidents WHERE customer_id = $1 AND created_at < $3 AND "
        "(closed_at = 0 OR closed_at >= $2) ORDER BY created_at, id",
        {sp(customer_id), sp(start), sp(end)});
    if (!inc.ok()) return inc.error();
    std::map<std::string, std::pair<int64_t, double>> silent;  // device → (periods, hours)
    for (size_t i = 0; i < inc->size(); ++i) {
      d.incidents.push_back({inc->str(i, 0), inc->str(i, 1), inc->str(i, 2), inc->str(i, 3),
                             inc->str(i, 4), inc->i64(i, 5), inc->i64(i, 6)});
      if (inc->str(i, 1) == "monitoring_stopped") {
        const int64_t from = std::max(inc->i64(i, 5), start);
        const int64_t to =
            std::min(inc->i64(i, 6) == 0 ? std::min(end, d.generated_at) : inc->i64(i, 6), end);
        auto& [periods, hours] = silent[inc->str(i, 7)];
        ++periods;
        hours += std::max<int64_t>(0, to - from) / static_cast<double>(kHour);
      }
    }
    auto dev = tx.q(
        "SELECT id, hostname, kind, status, last_seen, enrolled_at FROM devices WHERE "
        "customer_id = $1 AND enrolled_at < $2 ORDER BY hostname, id",
        {sp(customer_id), sp(end)});
    if (!dev.ok()) return dev.error();
    for (size_t i = 0; i < dev->size(); ++i) {
      MonthlyReportData::DeviceLine l;
      l.id = dev->str(i, 0);
      l.hostname = dev->str(i, 1);
      l.kind = dev->str(i, 2);
      l.status = dev->str(i, 3);
      l.last_seen = dev->i64(i, 4);
      const int64_t from = std::max(dev->i64(i, 5), start);
      const int64_t to = std::min(end, d.generated_at);
      if (auto it = silent.find(l.id); it != silent.end()) {
        l.silent_periods = it->second.first;
        l.silent_hours = it->second.second;
      }
      l.watched_hours = std::max(
          0.0, std::max<int64_t>(0, to - from) / static_cast<double>(kHour) - l.silent_hours);
      d.devices.push_back(std::move(l));
    }
    auto plan = tx.q(
        "SELECT plans.name FROM contracts JOIN plans ON plans.id = contracts.plan_id WHERE "
        "contracts.customer_id = $1 AND contracts.status = 'active' ORDER BY contracts.created_at "
        "DESC LIMIT 1",
        {sp(customer_id)});
    if (!plan.ok()) return plan.error();
    if (!plan->empty()) d.plan_name = plan->str(0, 0);
    return {};
  });
  if (!st.ok()) return st.error();
  return d;
}

std::string render_monthly_report(const MonthlyReportData& d) {
  const std::string period = fmt::format("{}年{}月", d.month.year, d.month.month);
  pdf::Document doc(
      {.title = fmt::format("月次セキュリティレポート {} {}", d.customer_name, period),
       .author = "Mimamori",
       .subject = "月次セキュリティレポート",
       .keywords = fmt::format("{} {}", d.customer_id, d.month.key()),
       .creator = "Mimamori",
       .footer = fmt::format("{} 様 — {}", d.customer_name, period)});
  doc.title("月次セキュリティレポート", fmt::format("{} 様　{}（{}作成）", d.customer_name, period,
                                                    jst_minute(d.generated_at).substr(0, 10)));
  if (!d.plan_name.empty()) doc.note(fmt::format("ご契約プラン: {}", d.plan_name));

  int64_t detections = 0, open_critical = 0, open_any = 0, silent_devices = 0;
  for (const auto& c : d.categories) detections += c.detections;
  for (const auto& i : d.incidents) {
    if (i.status != "closed") {
      ++open_any;
      if (i.severity == "critical") ++open_critical;
    }
  }
  for (const auto& dv : d.devices) silent_devices += dv.silent_periods > 0 ? 1 : 0;

  doc.heading("今月の状態");
  std::string state;
  if (open_critical > 0) {
    state = fmt::format(
        "【要対応】緊急度の高い対応中の事案が{}件あります。担当者からのご連絡に沿って対応を進めて"
        "ください。",
        open_critical);
  } else if (!d.incidents.empty()) {
    state = fmt::format("【注意】今月は対応が必要な事案が{}件ありました（うち未完了{}件）。",
                        d.incidents.size(), open_any);
  } else {
    state = "【良好】今月は対応が必要な事案はありませんでした。";
  }
  doc.paragraph(state);
  doc.paragraph(fmt::format(
      "今月、監視機器は合計{}件の不審な通信や動きを検知しました。そのうち担当者の確認が必要だった"
      "ものは事案{}件にまとめて対応しています。{}",
      count(detections), d.incidents.size(),
      d.suppressed_detections > 0
          ? fmt::format("このほか、無害と確認済みの検知{}件は記録のみ行いました。",
                        count(d.suppressed_detections))
          : std::string()));

  doc.heading("事案と対応");
  if (d.incidents.empty()) {
    doc.paragraph("今月の事案はありません。");
  } else {
    pdf::Table t{{{"発生日時", 1.3},
                  {"内容", 3.0},
                  {"緊急度", 0.7, pdf::Align::kCenter},
                  {"状況", 0.8, pdf::Align::kCenter},
                  {"対応結果", 1.8}},
                 {}};
    for (const auto& i : d.incidents) {
      t.rows.push_back({jst_minute(i.created_at), i.title, std::string(severity_ja(i.severity)),
                        std::string(status_ja(i.status)),
                        i.resolution.empty() ? "—" : i.resolution});
    }
    doc.table(t);
  }

  doc.heading("検知の種類");
  if (d.categories.empty()) {
    doc.paragraph("今月の検知はありません。");
  } else {
    pdf::Chart ch;
    ch.title = "種類別の検知数";
    ch.unit = "件";
    pdf::Series s{"検知数", {}};
    pdf::Table t{
        {{"種類", 3}, {"検知数", 1, pdf::Align::kRight}, {"まとめた件数", 1, pdf::Align::kRight}},
        {}};
    for (const auto& c : d.categories) {
      ch.categories.push_back(c.title);
      s.values.push_back(static_cast<double>(c.detections));
      t.rows.push_back({c.title, count(c.detections), count(c.alerts)});
    }
    ch.series.push_back(std::move(s));
    doc.chart(ch);
    doc.table(t);
  }

  doc.heading("注意が必要な脅威");
  if (d.notable.empty()) {
    doc.paragraph("緊急度「高」以上の検知はありませんでした。");
  } else {
    pdf::Table t{{{"検知名", 3.5},
                  {"種類", 1.6},
                  {"緊急度", 0.7, pdf::Align::kCenter},
                  {"件数", 0.7, pdf::Align::kRight}},
                 {}};
    for (const auto& n : d.notable) {
      t.rows.push_back({n.signature, n.category_title, std::string(severity_ja(n.severity)),
                        count(n.detections)});
    }
    doc.table(t);
  }

  doc.heading("監視機器の状態");
  if (d.devices.empty()) {
    doc.paragraph("登録された監視機器はありません。");
  } else {
    pdf::Table t{{{"機器", 2.2},
                  {"種類", 1.2},
                  {"監視時間", 1, pdf::Align::kRight},
                  {"監視停止", 1.2, pdf::Align::kRight},
                  {"最終連絡", 1.4}},
                 {}};
    for (const auto& dv : d.devices) {
      t.rows.push_back({dv.hostname,
                        dv.kind == "sensor"  ? "ネットワーク"
                        : dv.kind == "agent" ? "端末"
                                             : dv.kind,
                        fmt::format("{:.0f}時間", dv.watched_hours),
                        dv.silent_periods == 0
                            ? "なし"
                            : fmt::format("{}回（{:.1f}時間）", dv.silent_periods, dv.silent_hours),
                        jst_minute(dv.last_seen)});
    }
    doc.table(t);
  }

  doc.heading("相談窓口・駆け付け");
  doc.note(
      "相談窓口へのお問い合わせと駆け付け対応の記録は、このレポートにはまだ含まれていません。");

  doc.heading("来月に向けたアドバイス");
  std::vector<std::string> advice;
  std::vector<std::string> seen;
  for (const auto& i : d.incidents) {
    if (std::find(seen.begin(), seen.end(), i.category) != seen.end()) continue;
    seen.push_back(i.category);
    const auto& c = Catalogue::get().find(i.category);
    advice.push_back(fmt::format("{}: {}", c.title, c.action));
  }
  if (silent_devices > 0) {
    advice.push_back(
        fmt::format("監視が止まった機器が{}"
                    "台ありました。電源やケーブルが抜けやすい場所にないか確認してください。",
                    silent_devices));
  }
  if (advice.empty()) {
    advice.push_back(
        "パソコンやルーターの更新（アップデート）を続け、不審なメールの添付ファイルは"
        "開かないようにしましょう。");
  }
  advice.push_back("気になることがあれば、いつでも相談窓口へご連絡ください。");
  doc.bullets(advice);
  return doc.finish();
}

}  // namespace mimamori::server
