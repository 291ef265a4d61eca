// The table of detectors. The rule engine (net/rules) adds its Detector here.

#include "detectors.h"

#include "mimamori/core/log.h"

namespace mimamori::sensor {

void prepare_detectors(const core::Config& config, const RuleOptions& rules) {
  (void)config;
  if (rules.any()) spdlog::warn("this build has no rule engine: rule files are not loaded");
}

std::vector<std::unique_ptr<net::Detector>> make_detectors(int index) {
  (void)index;
  return {};
}

}  // namespace mimamori::sensor
