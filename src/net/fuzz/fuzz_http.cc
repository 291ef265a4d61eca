// libFuzzer target: the HTTP parser on arbitrary bytes in both directions (see fuzz_app.h).

#include "fuzz_app.h"

using namespace mimamori::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto parser = make_http_parser(AppLimits{});
  fuzz::drive(*parser, data + 1, size - 1);
  return 0;
}
