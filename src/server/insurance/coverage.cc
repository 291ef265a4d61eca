// The coverage arithmetic of a claim: pure integer yen, no store. See docs/insurance.md for the
// rules and a worked example.

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "insurance/insurance.h"

namespace mimamori::server {

std::string_view coverage_item_name(std::string_view key) {
  for (const auto& k : kCoverageItems) {
    if (k.key == key) return k.name_ja;
  }
  return {};
}

std::string yen_ja(int64_t amount) {
  const bool negative = amount < 0;
  std::string digits = std::to_string(negative ? -amount : amount);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (negative ? "-" : "") + out + "円";
}

std::string_view claim_status_ja(std::string_view s) {
  if (s == "draft") return "下書き";
  if (s == "submitted") return "請求済み";
  if (s == "paid") return "支払済み";
  if (s == "denied") return "不払い";
  return s;
}

std::string_view stage_ja(std::string_view s) {
  if (s == "detection") return "検知";
  if (s == "notification") return "通知";
  if (s == "remote") return "遠隔対応";
  if (s == "dispatch") return "駆け付け";
  if (s == "recovery") return "復旧";
  if (s == "claim") return "保険請求";
  return s;
}

ClaimAmounts compute_claim(const InsurancePolicy& policy, const std::vector<CostLine>& lines) {
  ClaimAmounts out;
  out.lines.resize(lines.size());
  struct State {
    const CoverageItem* cover = nullptr;
    int64_t deductible_left = 0, limit_left = 0;
    int64_t claimed = 0, covered = 0, borne = 0, deductible_taken = 0, over_limit = 0;
    int64_t out_of_period = 0, out_of_period_lines = 0;
    bool seen = false;
  };
  std::map<std::string, State, std::less<>> state;
  for (const auto& k : kCoverageItems) {
    State s;
    for (const auto& c : policy.items) {
      if (c.item == k.key) s.cover = &c;
    }
    if (s.cover) {
      s.deductible_left = s.cover->deductible;
      s.limit_left = s.cover->limit;
    }
    state.emplace(std::string(k.key), s);
  }
  const std::string period = fmt::format("{}〜{}", policy.start_date, policy.end_date);
  for (size_t i = 0; i < lines.size(); ++i) {
    const CostLine& l = lines[i];
    LineAmounts& a = out.lines[i];
    out.claimed += l.amount;
    auto it = state.find(l.item);
    if (it == state.end()) {
      // Only known items are ever stored; an unknown one is the customer's, said plainly.
      a.customer_borne = l.amount;
      a.reason_ja = fmt::format("費用の種類「{}」は補償の項目にありません", l.item);
      out.customer_borne += l.amount;
      continue;
    }
    State& s = it->second;
    s.seen = true;
    s.claimed += l.amount;
    const std::string_view name = coverage_item_name(l.item);
    if (!s.cover) {
      a.customer_borne = l.amount;
      a.reason_ja = fmt::format("「{}」はご契約の保険の補償に含まれていません", name);
    } else if (l.incurred_on < policy.start_date || l.incurred_on > policy.end_date) {
      a.customer_borne = l.amount;
      a.reason_ja = fmt::format("発生日 {} が保険期間（{}）の外です", l.incurred_on, period);
      s.out_of_period += l.amount;
      ++s.out_of_period_lines;
    } else {
      a.deductible_applied = std::min(l.amount, s.deductible_left);
      s.deductible_left -= a.deductible_applied;
      const int64_t rest = l.amount - a.deductible_applied;
      a.covered = std::min(rest, s.limit_left);
      s.limit_left -= a.covered;
      a.over_limit = rest - a.covered;
      a.customer_borne = a.deductible_applied + a.over_limit;
      std::string why;
      if (a.deductible_applied > 0) {
        why = fmt::format("免責金額として{}", yen_ja(a.deductible_applied));
      }
      if (a.over_limit > 0) {
        if (!why.empty()) why += "、";
        why +=
            fmt::format("支払限度額（{}）を超える{}", yen_ja(s.cover->limit), yen_ja(a.over_limit));
      }
      if (!why.empty()) a.reason_ja = why + "はお客様のご負担です";
      s.deductible_taken += a.deductible_applied;
      s.over_limit += a.over_limit;
    }
    s.covered += a.covered;
    s.borne += a.customer_borne;
    out.covered += a.covered;
    out.customer_borne += a.customer_borne;
  }
  for (const auto& k : kCoverageItems) {
    const State& s = state.at(std::string(k.key));
    if (!s.seen) continue;
    ItemTotals t;
    t.item = std::string(k.key);
    t.claimed = s.claimed;
    t.covered = s.covered;
    t.customer_borne = s.borne;
    t.in_policy = s.cover != nullptr;
    if (s.cover) {
      t.deductible = s.cover->deductible;
      t.limit = s.cover->limit;
    }
    out.items.push_back(t);
    if (!s.cover) {
      out.not_covered_ja.push_back(fmt::format(
          "「{}」はご契約の保険の補償に含まれていないため、この費用{}は全額お客様のご負担です。",
          k.name_ja, yen_ja(s.claimed)));
      continue;
    }
    if (s.out_of_period > 0) {
      out.not_covered_ja.push_back(fmt::format(
          "「{}」のうち保険期間（{}）の外に発生した費用{}件・{}は、保険の対象外のためお客様の"
          "ご負担です。",
          k.name_ja, period, s.out_of_period_lines, yen_ja(s.out_of_period)));
    }
    if (s.deductible_taken > 0) {
      out.not_covered_ja.push_back(
          fmt::format("「{}」の免責金額{}は、保険から支払われずお客様のご負担です。", k.name_ja,
                      yen_ja(s.deductible_taken)));
    }
    if (s.over_limit > 0) {
      out.not_covered_ja.push_back(
          fmt::format("「{}」は支払限度額{}までのお支払いのため、超えた{}はお客様のご負担です。",
                      k.name_ja, yen_ja(s.cover->limit), yen_ja(s.over_limit)));
    }
  }
  return out;
}

}  // namespace mimamori::server
