#include "mimamori/net/rules/management.h"

#include <gtest/gtest.h>

#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {
namespace {

constexpr std::string_view kRules =
    "alert tcp any any -> any any (msg:\"one\"; content:\"a\"; sid:1;)\n"
    "alert tcp any any -> any any (msg:\"two heartbleed\"; content:\"b\"; sid:2;)\n"
    "# alert tcp any any -> any any (msg:\"three\"; content:\"c\"; sid:3;)\n"
    "# alert tcp any any -> any any (msg:\"four\"; content:\"d\"; sid:4;)\n";

TEST(RuleEdits, DisableEnableModify) {
  RuleEdits edits;
  ASSERT_TRUE(edits.add_text("disable", "# comment\n1\nre:heartbleed\n", "disable.conf").ok());
  ASSERT_TRUE(edits.add_text("enable", "1:3\n", "enable.conf").ok());
  ASSERT_TRUE(
      edits.add_text("modify", "3 \"content:\\\"c\\\"\" \"content:\\\"cc\\\"\"\n", "modify.conf")
          .ok());
  RuleLoader loader;
  loader.set_edits(std::move(edits));
  loader.load_text(kRules, "x.rules");
  auto set = loader.take();
  ASSERT_EQ(set.signatures.size(), 1u);
  EXPECT_EQ(set.signatures[0].sid, 3u);
  EXPECT_EQ(std::get<Content>(set.signatures[0].buffers[0].items[0]).bytes, "cc");
  EXPECT_EQ(set.disabled, 2u);
  EXPECT_EQ(set.enabled, 1u);
}

TEST(RuleEdits, BadLinesNameFileAndLine) {
  RuleEdits edits;
  auto s = edits.add_text("disable", "1\nnot-a-sid\n", "disable.conf");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "disable.conf:2: expected sid, gid:sid, re:REGEX or group:FILE, got 'not-a-sid'");
  auto m = edits.add_text("modify", "1 \"(\" \"x\"\n", "modify.conf");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.error().message.starts_with("modify.conf:1: bad regex '('")) << m.error().message;
}

TEST(ThresholdConfig, ThresholdAndSuppress) {
  RuleLoader loader;
  loader.load_text(kRules, "x.rules");
  auto set = loader.take();
  ASSERT_TRUE(apply_threshold_config(
                  set,
                  "threshold gen_id 1, sig_id 1, type limit, track by_src, count 3, seconds 30\n"
                  "suppress gen_id 1, sig_id 2, track by_dst, ip [10.0.0.0/8, 192.168.1.1]\n",
                  "threshold.config", default_address_variables())
                  .ok());
  ASSERT_TRUE(set.signatures[0].threshold.has_value());
  EXPECT_EQ(set.signatures[0].threshold->count, 3u);
  EXPECT_EQ(set.signatures[0].threshold->seconds, 30u);
  ASSERT_EQ(set.signatures[1].suppress.size(), 1u);
  EXPECT_TRUE(
      set.signatures[1].suppress[0].addresses.contains(*core::IpAddress::parse("10.9.9.9")));
  auto bad = apply_threshold_config(set, "suppress gen_id 1, sig_id 99\n", "t.config",
                                    default_address_variables());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "t.config:1: no loaded rule has sig_id 99");
  auto rate = apply_threshold_config(set, "rate_filter gen_id 1, sig_id 1, track by_rule\n",
                                     "t.config", default_address_variables());
  ASSERT_FALSE(rate.ok());
  EXPECT_EQ(rate.error().message,
            "t.config:1: rate_filter needs track, count, seconds, new_action and timeout");
  ASSERT_TRUE(apply_threshold_config(set,
                                     "rate_filter gen_id 1, sig_id 2, track by_src, count 5, "
                                     "seconds 10, new_action drop, timeout 30\n",
                                     "t.config", default_address_variables())
                  .ok());
  ASSERT_TRUE(set.signatures[1].rate_filter.has_value());
  EXPECT_EQ(set.signatures[1].rate_filter->count, 5u);
  EXPECT_EQ(set.signatures[1].rate_filter->timeout, 30u);
  EXPECT_EQ(set.signatures[1].rate_filter->new_action, Action::kDrop);
  auto bad_action = apply_threshold_config(
      set,
      "rate_filter gen_id 1, sig_id 2, track by_src, count 5, seconds 10, new_action nope, "
      "timeout 30\n",
      "t.config", default_address_variables());
  ASSERT_FALSE(bad_action.ok());
  EXPECT_EQ(bad_action.error().message, "t.config:1: bad value 'nope' for new_action");
}

}  // namespace
}  // namespace mimamori::net::rules
