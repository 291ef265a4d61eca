// Correlation rules (Sigma v2): event_count, value_count, temporal and temporal_ordered over
// base-rule hits, per group-by key, within a sliding time span.

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

bool holds(char cmp, double count, double threshold) {
  switch (cmp) {
    case '>':
      return count > threshold;
    case 'G':
      return count >= threshold;
    case '<':
      return count < threshold;
    case 'L':
      return count <= threshold;
    default:
      return count == threshold;
  }
}

std::string_view field_of(const CorrelationInput& in, const std::string& name) {
  for (const auto& [k, v] : in.fields)
    if (k == name) return v;
  return {};
}

}  // namespace

std::vector<std::string> correlation_fields(const RuleSet& rules) {
  std::set<std::string> names;
  for (const auto& c : rules.impl().correlations) {
    names.insert(c.group_by.begin(), c.group_by.end());
    if (!c.field.empty()) names.insert(c.field);
  }
  return {names.begin(), names.end()};
}

std::vector<CorrelationHit> correlate(const RuleSet& rules, std::vector<CorrelationInput> inputs) {
  std::vector<CorrelationHit> out;
  std::stable_sort(
      inputs.begin(), inputs.end(),
      [](const CorrelationInput& a, const CorrelationInput& b) { return a.time < b.time; });
  for (const auto& c : rules.impl().correlations) {
    // Group the hits of the referenced rules.
    std::map<std::string, std::vector<const CorrelationInput*>> groups;
    for (const auto& in : inputs) {
      if (std::find(c.rules.begin(), c.rules.end(), in.rule) == c.rules.end()) continue;
      std::string key;
      for (const auto& g : c.group_by) {
        if (!key.empty()) key += ", ";
        key += fmt::format("{}={}", g, field_of(in, g));
      }
      groups[key].push_back(&in);
    }
    for (const auto& [key, events] : groups) {
      std::size_t start = 0;
      for (std::size_t end = 0; end < events.size(); ++end) {
        while (events[end]->time.micros - events[start]->time.micros > c.timespan_us) ++start;
        double count = 0;
        bool fire = false;
        switch (c.type) {
          case Correlation::kEventCount:
            count = static_cast<double>(end - start + 1);
            fire = holds(c.cmp, count, c.threshold);
            break;
          case Correlation::kValueCount: {
            std::set<std::string_view> values;
            for (std::size_t i = start; i <= end; ++i) {
              auto v = field_of(*events[i], c.field);
              if (!v.empty()) values.insert(v);
            }
            count = static_cast<double>(values.size());
            fire = holds(c.cmp, count, c.threshold);
            break;
          }
          case Correlation::kTemporal: {
            std::set<uint32_t> seen;
            for (std::size_t i = start; i <= end; ++i) seen.insert(events[i]->rule);
            count = static_cast<double>(seen.size());
            fire = seen.size() == c.rules.size() || (c.cmp && holds(c.cmp, count, c.threshold) &&
                                                     c.threshold > 0 && seen.size() >= c.threshold);
            break;
          }
          case Correlation::kTemporalOrdered: {
            std::size_t next = 0;
            for (std::size_t i = start; i <= end && next < c.rules.size(); ++i)
              if (events[i]->rule == c.rules[next]) ++next;
            count = static_cast<double>(next);
            fire = next == c.rules.size();
            break;
          }
        }
        if (!fire) continue;
        CorrelationHit hit;
        hit.rule = c.rule;
        hit.group = key;
        hit.first = events[start]->time;
        hit.last = events[end]->time;
        hit.count = static_cast<uint64_t>(count);
        for (std::size_t i = start; i <= end; ++i) hit.events.push_back(events[i]->event);
        out.push_back(std::move(hit));
        start = end + 1;  // the next hit starts with fresh events
        if (start >= events.size()) break;
        end = start - 1;
        if (end + 1 >= events.size()) break;
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CorrelationHit& a, const CorrelationHit& b) { return a.first < b.first; });
  return out;
}

}  // namespace mimamori::sigma
