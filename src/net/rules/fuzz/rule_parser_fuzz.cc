// libFuzzer target: any bytes as a rule file must load or be skipped with a reason, never
// crash, hang or leak; whatever loads must also compile into an engine.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mimamori::net::rules;
  RuleLoader loader;
  loader.load_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.rules");
  auto set = loader.take();
  for (const auto& s : set.skipped) {
    if (s.reason.empty()) __builtin_trap();  // every skip must say why
  }
  (void)describe_load(set, true);
  if (!set.signatures.empty() && set.signatures.size() < 64) {
    (void)RuleEngine::build(std::move(set));
  }
  return 0;
}
