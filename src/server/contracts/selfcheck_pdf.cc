// The self-check as a PDF: the summary a provider hands the registration body beside the JSON.
// Set on the pdf layer as plain text, so names from the store cannot change the layout.

#include <ctime>

#include "mimamori/pdf/document.h"
#include "mimamori/server/selfcheck.h"

namespace mimamori::server {
namespace {

// "YYYY-MM-DD HH:MM" in JST.
std::string jst_minute_text(int64_t micros) {
  std::time_t t = static_cast<std::time_t>(micros / 1000000 + 9 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string mark(const std::string& status) { return status == "met" ? "✔" : "✘"; }

}  // namespace

std::string self_check_pdf(const SelfCheck& s, std::string_view lang) {
  const bool en = lang == "en";
  int met = 0;
  for (const auto& i : s.items) met += i.status == "met" ? 1 : 0;
  const std::string when = jst_minute_text(s.generated_at) + " JST";
  pdf::Document doc({.title = en ? "Registration self-check" : "登録要件の自己点検",
                     .author = "Mimamori",
                     .subject = "お助け隊サービス 登録要件 自己点検",
                     .keywords = "self-check",
                     .creator = "Mimamori",
                     .footer = (en ? "Self-check " : "自己点検 ") + when});
  doc.title(en ? "Registration self-check" : "登録要件の自己点検",
            (en ? "generated " : "作成 ") + when + (en ? " — met " : "　満たす要件 ") +
                std::to_string(met) + " / " + std::to_string(s.items.size()));
  pdf::Table summary{{{"#", 0.4, pdf::Align::kRight},
                      {en ? "Requirement" : "要件", 3.0},
                      {en ? "Result" : "結果", 1.2, pdf::Align::kCenter}},
                     {}};
  for (const auto& i : s.items) {
    summary.rows.push_back(
        {std::to_string(i.number), en ? i.title_en : i.title_ja, mark(i.status) + " " + i.status});
  }
  doc.table(summary);
  for (const auto& i : s.items) {
    doc.heading(std::to_string(i.number) + ". " + (en ? i.title_en : i.title_ja) + "  " +
                mark(i.status));
    std::vector<std::string> lines;
    for (const auto& e : i.evidence) lines.push_back(en ? e.en : e.ja);
    doc.bullets(lines);
    if (!i.action.ja.empty()) {
      doc.note((en ? "To do: " : "対応: ") + (en ? i.action.en : i.action.ja));
    }
  }
  doc.note(en ? "Evidence read from the service's store and configuration; met only on evidence."
              : "根拠はサービスのデータベースと設定から読み取ったもので、根拠のある要件だけを"
                "「満たす」としています。");
  return doc.finish();
}

}  // namespace mimamori::server
