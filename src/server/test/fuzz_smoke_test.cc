// A short, deterministic run of the ingest fuzz target (the long runs live in bench/): seeds
// of real EVE lines, then random byte flips, insertions and truncations of them.

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

#include "test_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace mimamori::server::testing {
namespace {

TEST(IngestFuzzSmoke, TenThousandMutatedBatchesNeverCrash) {
  std::vector<std::string> seeds;
  std::string lines = alert_line(1, "ET MALWARE x", "10.0.0.1", "10.0.0.2") + "\n" +
                      dns_line("example.jp") + "\n{\"timestamp\":\"bad\"}\n";
  seeds.push_back(std::string("\x00\x03\x00", 3) + lines);
  seeds.push_back(std::string("\x03\x02\x05", 3) + dns_line("a") + "\n" + dns_line("b"));
  std::mt19937 rng(20261126);
  int64_t runs = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[at] = static_cast<char>(rng());
          break;
        case 1:
          s.insert(at, 1, "{}[]\",:\\\n\x80\xff"[rng() % 12]);
          break;
        case 2:
          s.erase(at, 1 + rng() % 16);
          break;
        default:
          s.resize(at);
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    ++runs;
  }
  EXPECT_EQ(runs, 10000);
}

}  // namespace
}  // namespace mimamori::server::testing
