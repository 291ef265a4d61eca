// The dispatch (駆け付け) steps of an incident for the claim package's timeline, in the words a
// claim is read in: each state reached, remote support, action lines, evidence, a late arrival.

#include <fmt/format.h>

#include "dispatch/dispatch.h"
#include "insurance/insurance.h"

namespace mimamori::server {

namespace {

std::string_view step_words(std::string_view state) {
  if (state == "remote") return "遠隔での対応";
  if (state == "resolved") return "遠隔での対応で解決";
  if (state == "assigned") return "駆け付けの手配 (技術者を割り当て)";
  if (state == "departed") return "技術者が出発";
  if (state == "arrived") return "技術者が到着";
  if (state == "working") return "現地での作業を開始";
  if (state == "finished") return "現地での作業が完了";
  if (state == "signed_off") return "お客様が作業完了を確認";
  if (state == "action") return "作業内容";
  if (state == "evidence") return "証拠の記録";
  if (state == "late") return "到着予定時刻の超過";
  return state;
}

}  // namespace

Result<std::vector<TimelineEntry>> dispatch_entries(SqlTx& tx, std::string_view customer_id,
                                                    std::string_view incident_id) {
  Status error;
  auto steps = dispatch_timeline_for_incident(tx, customer_id, incident_id, &error);
  if (!error.ok()) return error.error();
  std::vector<TimelineEntry> out;
  out.reserve(steps.size());
  for (const auto& s : steps) {
    TimelineEntry e;
    e.at = s.at;
    e.actor = s.actor;
    e.kind = "dispatch";
    e.text = s.note.empty() ? std::string(step_words(s.state))
                            : fmt::format("{}: {}", step_words(s.state), s.note);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace mimamori::server
