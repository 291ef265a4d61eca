#include "mimamori/net/detect.h"

#include <gtest/gtest.h>

namespace mimamori::net {
namespace {

TEST(Buffers, EveryBufferHasAUniqueNameThatRoundTrips) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(Buffer::kCount); ++i) {
    auto b = static_cast<Buffer>(i);
    auto name = buffer_name(b);
    ASSERT_FALSE(name.empty()) << i;
    auto back = buffer_from_name(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, b) << name;
  }
  EXPECT_EQ(buffer_name(Buffer::kHttpUri), "http.uri");
  EXPECT_EQ(buffer_name(Buffer::kSshSoftware), "ssh.software");
  EXPECT_EQ(buffer_app_proto(Buffer::kDnsQuery), AppProto::kDns);
  EXPECT_FALSE(buffer_from_name("http.nonsense").has_value());
}

TEST(Flow, DetectorStateIsFreedWithTheFlow) {
  struct Counted : FlowState {
    explicit Counted(int* n) : n_(n) { ++*n_; }
    ~Counted() override { --*n_; }
    int* n_;
  };
  int live = 0;
  {
    Flow f;
    f.set_state(1, std::make_unique<Counted>(&live));
    EXPECT_EQ(live, 1);
    EXPECT_NE(f.state(1), nullptr);
    EXPECT_EQ(f.state(0), nullptr);
    EXPECT_EQ(f.state(kMaxDetectorSlots), nullptr);
  }
  EXPECT_EQ(live, 0);
}

}  // namespace
}  // namespace mimamori::net
