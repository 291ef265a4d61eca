// Ingest bodies compressed as the server reads them: gzip and zstd frames, on Linux and in the
// Windows build (zstd cross-built from Debian's source there).

#include <gtest/gtest.h>

#include <string>

#include "mimamori/uplink/http.h"

namespace mimamori::uplink {
namespace {

std::string ndjson() {
  std::string out;
  for (int i = 0; i < 2000; ++i)
    out += "{\"event_type\":\"alert\",\"winlog\":{\"record_id\":" + std::to_string(i) +
           ",\"channel\":\"Security\"},\"alert\":{\"signature\":\"失敗したログオン\"}}\n";
  return out;
}

TEST(Compress, ZstdGivesAZstdFrame) {
  std::string body = ndjson();
  auto z = compress(body, Compression::kZstd);
  ASSERT_TRUE(z.ok()) << z.error().message;
  ASSERT_GE(z->size(), 4u);
  EXPECT_EQ(z->substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));  // the zstd magic number
  EXPECT_LT(z->size(), body.size() / 10);
  EXPECT_EQ(encoding_name(Compression::kZstd), "zstd");
}

TEST(Compress, GzipGivesAGzipMember) {
  std::string body = ndjson();
  auto g = compress(body, Compression::kGzip);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->substr(0, 2), std::string("\x1f\x8b", 2));
  EXPECT_LT(g->size(), body.size() / 5);
  auto same = compress(body, Compression::kNone);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, body);
}

}  // namespace
}  // namespace mimamori::uplink
