// The claim package as a Japanese PDF on the pdf layer (the same one as the monthly report).
// The layer sets every string as plain text, never as pango markup, so a customer's "<b>" or
// "&" is printed as written and cannot change the layout.

#include "insurance/insurance.h"
#include "mimamori/core/clock.h"
#include "mimamori/pdf/document.h"
#include "reports/reports.h"

namespace mimamori::server {

std::string render_claim_package(const ClaimPackage& pkg) {
  const auto& c = pkg.claim;
  const auto& pol = pkg.policy;
  const auto& a = pkg.amounts;
  pdf::Document doc({.title = fmt::format("保険金請求資料 {} {}", pkg.customer_name, c.id),
                     .author = "Mimamori",
                     .subject = "簡易サイバー保険 保険金請求資料",
                     .keywords = fmt::format("{} {} {}", c.customer_id, c.incident_id, c.id),
                     .creator = "Mimamori",
                     .footer = fmt::format("{} 様 — 請求 {}", pkg.customer_name, c.id)});
  doc.title(
      "保険金請求資料（簡易サイバー保険）",
      fmt::format("{} 様　{}作成", pkg.customer_name, jst_minute(pkg.generated_at).substr(0, 10)));

  doc.heading("ご契約の保険");
  pdf::Table info{{{"項目", 1.2}, {"内容", 3.8}}, {}};
  info.rows.push_back({"保険会社", pol.insurer});
  info.rows.push_back({"証券番号", pol.policy_number});
  info.rows.push_back({"保険期間", fmt::format("{} 〜 {}", pol.start_date, pol.end_date)});
  info.rows.push_back({"請求の状態", std::string(claim_status_ja(c.status))});
  info.rows.push_back({"事案", fmt::format("{}（緊急度 {}、{} 発生）", pkg.incident_title,
                                           severity_ja(pkg.incident_severity),
                                           jst_minute(pkg.incident_created_at))});
  if (!c.note.empty()) info.rows.push_back({"備考", c.note});
  doc.table(info);

  doc.heading("補償の内容");
  pdf::Table cover{{{"補償項目", 2.2},
                    {"支払限度額", 1.2, pdf::Align::kRight},
                    {"免責金額", 1.2, pdf::Align::kRight}},
                   {}};
  for (const auto& k : kCoverageItems) {
    const CoverageItem* item = nullptr;
    for (const auto& x : pol.items) {
      if (x.item == k.key) item = &x;
    }
    if (item) {
      cover.rows.push_back({std::string(k.name_ja), yen_ja(item->limit), yen_ja(item->deductible)});
    } else {
      cover.rows.push_back({std::string(k.name_ja), "補償なし", "—"});
    }
  }
  doc.table(cover);

  doc.heading("費用と保険金");
  doc.paragraph(fmt::format("請求額の合計: {}", yen_ja(a.claimed)));
  doc.paragraph(fmt::format("保険でお支払いする額: {}", yen_ja(a.covered)));
  doc.paragraph(fmt::format("お客様のご負担: {}", yen_ja(a.customer_borne)));
  if (c.lines.empty()) {
    doc.paragraph("費用はまだ登録されていません。");
  } else {
    pdf::Table t{{{"発生日", 1.0},
                  {"内容", 2.2},
                  {"補償項目", 1.5},
                  {"金額", 1.0, pdf::Align::kRight},
                  {"保険", 1.0, pdf::Align::kRight},
                  {"ご負担", 1.0, pdf::Align::kRight}},
                 {}};
    for (size_t i = 0; i < c.lines.size(); ++i) {
      const auto& l = c.lines[i];
      const auto& la = a.lines[i];
      t.rows.push_back({l.incurred_on,
                        la.reason_ja.empty() ? l.description
                                             : fmt::format("{}（{}）", l.description, la.reason_ja),
                        std::string(coverage_item_name(l.item)), yen_ja(l.amount),
                        yen_ja(la.covered), yen_ja(la.customer_borne)});
    }
    doc.table(t);
    pdf::Table totals{{{"補償項目", 2.2},
                       {"請求額", 1.2, pdf::Align::kRight},
                       {"保険金", 1.2, pdf::Align::kRight},
                       {"ご負担", 1.2, pdf::Align::kRight}},
                      {}};
    for (const auto& it : a.items) {
      totals.rows.push_back({std::string(coverage_item_name(it.item)), yen_ja(it.claimed),
                             yen_ja(it.covered), yen_ja(it.customer_borne)});
    }
    totals.rows.push_back({"合計", yen_ja(a.claimed), yen_ja(a.covered), yen_ja(a.customer_borne)});
    doc.table(totals);
  }

  doc.heading("保険の対象にならない費用");
  if (a.not_covered_ja.empty()) {
    doc.paragraph("今回の費用はすべて保険の対象です。");
  } else {
    doc.bullets(a.not_covered_ja);
  }
  if (!pol.customer_text.empty()) {
    doc.heading("お客様のご負担について", 2);
    doc.paragraph(pol.customer_text);
  }

  doc.heading("対応の経過");
  if (pkg.timeline.empty()) {
    doc.paragraph("記録はありません。");
  } else {
    pdf::Table t{{{"日時", 1.2}, {"段階", 0.8, pdf::Align::kCenter}, {"内容", 4.0}}, {}};
    for (const auto& e : pkg.timeline) {
      t.rows.push_back({jst_minute(e.at), std::string(stage_ja(e.kind)), e.text});
    }
    doc.table(t);
  }

  doc.heading("証拠の一覧");
  if (pkg.evidence.empty()) {
    doc.paragraph("保存されている証拠はありません。");
  } else {
    doc.note(
        "各証拠の SHA-256 ハッシュ値です。保存されている記録と照合すると、改ざんされていない"
        "ことを確認できます。");
    pdf::Table t{{{"日時", 1.1}, {"証拠", 2.0}, {"SHA-256", 3.2}}, {}};
    for (const auto& e : pkg.evidence) {
      t.rows.push_back({jst_minute(e.at), e.name, e.sha256});
    }
    doc.table(t);
  }
  return doc.finish();
}

}  // namespace mimamori::server
