#include "mimamori/core/config.h"

#include <gtest/gtest.h>

namespace mimamori::core {
namespace {

TEST(Config, ReadsDottedPathsWithFallbacks) {
  auto c = Config::from_string(
      "stream:\n  depth: 1048576\n  midstream: true\nvars:\n  home: [a, b]\n", "sensor.yaml");
  EXPECT_EQ(c.get<int>("stream.depth", 0), 1048576);
  EXPECT_TRUE(c.get<bool>("stream.midstream", false));
  EXPECT_EQ(c.get<std::string>("missing.key", "dflt"), "dflt");
  EXPECT_EQ(c.get<std::vector<std::string>>("vars.home", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.keys("stream"), (std::vector<std::string>{"depth", "midstream"}));
  EXPECT_TRUE(c.has("vars.home"));
  EXPECT_EQ(c.size("vars.home"), 2u);
}

TEST(Config, WrongTypeNamesFileLineAndKey) {
  auto c = Config::from_string("a: 1\nstream:\n  depth: lots\n", "sensor.yaml");
  try {
    (void)c.get<int>("stream.depth", 0);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "sensor.yaml:3:10: key 'stream.depth': expected an integer, got 'lots'");
  }
  EXPECT_THROW((void)c.get<unsigned>("stream", 0), ConfigError);  // a map, not a number
  auto neg = Config::from_string("n: -1\n");
  EXPECT_THROW((void)neg.get<unsigned>("n", 0), ConfigError);
  try {
    (void)c.require<std::string>("server.url");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'server.url' is required"), std::string::npos);
  }
}

TEST(Config, SyntaxErrorNamesLine) {
  try {
    (void)Config::from_string("a: [1, 2\nb: 3\n", "bad.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad.yaml:", 0), 0u) << e.what();
  }
  EXPECT_THROW((void)Config::load_file("/nonexistent/mimamori.yaml"), ConfigError);
  EXPECT_THROW((void)Config::from_string("- just\n- a list\n"), ConfigError);
}

TEST(Config, SetOverridesAndCreatesMaps) {
  auto c = Config::from_string("stream:\n  depth: 10\n");
  c.set("stream.depth=20");
  c.set("new.deep.key=yes");
  EXPECT_EQ(c.get<int>("stream.depth", 0), 20);
  EXPECT_TRUE(c.get<bool>("new.deep.key", false));
  c.set("stream.depth=abc");
  try {
    (void)c.get<int>("stream.depth", 0);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--set stream.depth"), std::string::npos) << e.what();
  }
  EXPECT_THROW(c.set("novalue"), ConfigError);
}

}  // namespace
}  // namespace mimamori::core

namespace mimamori::core {
namespace {

TEST(ConfigList, SequenceOrCommaSeparatedString) {
  auto c = Config::from_string("a: [x, y]\nb: 'p, q ,r'\n");
  EXPECT_EQ(c.list("a", {}), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c.list("b", {}), (std::vector<std::string>{"p", "q", "r"}));
  EXPECT_EQ(c.list("none", {"d"}), (std::vector<std::string>{"d"}));
  c.set("b=[alert, dns]");
  EXPECT_EQ(c.list("b", {}), (std::vector<std::string>{"alert", "dns"}));
  c.set("b=alert,,dns");
  EXPECT_THROW((void)c.list("b", {}), ConfigError);
}

TEST(ConfigByteSize, SuffixesArePowersOf1024AndErrorsNameTheKey) {
  auto c = Config::from_string("a: 64mb\nb: 100 KiB\nc: 12\nd: 3tb\ne: 5gb\n");
  EXPECT_EQ(c.byte_size("a", 0), 64u * 1024 * 1024);
  EXPECT_EQ(c.byte_size("b", 0), 100u * 1024);
  EXPECT_EQ(c.byte_size("c", 0), 12u);
  EXPECT_EQ(c.byte_size("missing", 7), 7u);
  try {
    (void)c.byte_size("d", 0);
    ADD_FAILURE() << "3tb accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("d: expected a size"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)c.byte_size("e", 0, UINT32_MAX), ConfigError);
}

}  // namespace
}  // namespace mimamori::core
