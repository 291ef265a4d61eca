// libFuzzer target: the EVE reader takes untrusted input from devices. Whatever parses must
// write back and parse again to the same event.

#include <cstdint>
#include <string_view>

#include "mimamori/core/eve.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mimamori::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Event e;
  if (!parse_eve(text, e).ok()) return 0;
  std::string line = to_eve(e);
  Event again;
  auto st = parse_eve(line, again);
  MIMAMORI_ASSERT(st.ok(), "our own output must parse");
  MIMAMORI_ASSERT(to_eve(again) == line, "EVE must round-trip");
  return 0;
}
